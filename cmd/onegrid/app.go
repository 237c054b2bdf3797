package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/pgcluster"
	"github.com/onegrid/onegrid/schema"
)

// appConnString is what serve connects as: --app-database-url, or on the
// embedded database its own login role (made a member of the application role
// here, over the owner's connection).
func (m *Main) appConnString(ctx context.Context, owner *pgxpool.Pool) (string, error) {
	if m.Config.AppURL != "" {
		return m.Config.AppURL, nil
	}
	if m.Config.DatabaseURL != "" {
		return "", errors.New("serve connects as the application role, not as the schema's owner: set --app-database-url " +
			"(ONEGRID_APP_DATABASE_URL) to a login role that is a member of onegrid_app (`onegrid db app-role NAME` creates one; see the README)")
	}
	if err := schema.EnsureLoginRole(ctx, owner, pgcluster.AppUser, ""); err != nil {
		return "", err
	}
	c, err := m.cluster()
	if err != nil {
		return "", err
	}
	return c.ConnStringAs(pgcluster.AppUser, pgcluster.Database), nil
}

// checkAppRole refuses a connection whose role would bypass row-level security:
// a superuser, a role with BYPASSRLS, or one outside the application role.
func checkAppRole(ctx context.Context, db *pgxpool.Pool) error {
	var name string
	var super, bypass, member bool
	err := db.QueryRow(ctx, `SELECT rolname, rolsuper, rolbypassrls, pg_has_role(current_user, $1, 'USAGE')
		FROM pg_roles WHERE rolname = current_user`, schema.AppRole).Scan(&name, &super, &bypass, &member)
	if err != nil {
		return fmt.Errorf("check the application role: %w", err)
	}
	switch {
	case super:
		return fmt.Errorf("serve refuses to connect as %s: a superuser bypasses row-level security; use a member of %s (see the README)", name, schema.AppRole)
	case bypass:
		return fmt.Errorf("serve refuses to connect as %s: the role has BYPASSRLS; use a member of %s without it", name, schema.AppRole)
	case !member:
		return fmt.Errorf("serve's role %s is not a member of %s: GRANT %s TO %s", name, schema.AppRole, schema.AppRole, pgx.Identifier{name}.Sanitize())
	}
	return nil
}

// publicPrincipal is the anonymous visitor of --public-units, nil when unset.
func (m *Main) publicPrincipal(ctx context.Context, owner *pgxpool.Pool) (*auth.Principal, error) {
	if strings.TrimSpace(m.Config.PublicUnits) == "" {
		return nil, nil
	}
	var units []string
	for u := range strings.SplitSeq(m.Config.PublicUnits, ",") {
		if u = strings.TrimSpace(u); u != "" {
			units = append(units, u)
		}
	}
	var prefixes []string
	var unknown []string
	err := owner.QueryRow(ctx, `SELECT unit_prefixes($1),
		ARRAY(SELECT u FROM unnest($1::text[]) u WHERE u <> '*' AND NOT EXISTS (SELECT 1 FROM admin_area WHERE code = u)
		      AND NOT EXISTS (SELECT 1 FROM grid WHERE code = u AND valid_to IS NULL))`, units).Scan(&prefixes, &unknown)
	if err != nil {
		return nil, fmt.Errorf("--public-units: %w", err)
	}
	if len(unknown) > 0 {
		return nil, usageError{msg: fmt.Sprintf("--public-units: no admin area or current grid has code %s", strings.Join(unknown, ", "))}
	}
	return auth.PublicPrincipal(prefixes), nil
}
