package auth

import (
	"context"
	"errors"

	"github.com/onegrid/onegrid/scope"
)

// Principal is who a request comes from: a user (by session or API token) or,
// on a server with a public scope, the anonymous public.
type Principal struct {
	UserID      int64
	Name        string
	DisplayName string
	Roles       []Role
	Units       []string // as given: admin or grid codes, "*" for everything
	Scope       scope.Scope
	// MustChangePassword: a password someone else set; the page asks for a new one.
	MustChangePassword bool
	// Via says how the request proved it: "session", "token" or "public".
	Via string
}

// Has reports whether the principal has a role.
func (p *Principal) Has(r Role) bool {
	for _, x := range p.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// newPrincipal builds a principal from a user's row: its scope is the database's
// prefixes of its units, the capabilities of its roles and its duties.
func newPrincipal(id int64, name, display string, roles, units, prefixes, duties []string, mustChange bool, via string) *Principal {
	p := &Principal{UserID: id, Name: name, DisplayName: display, Units: units, MustChangePassword: mustChange, Via: via}
	for _, r := range roles {
		p.Roles = append(p.Roles, Role(r))
	}
	p.Scope = scope.Scope{UserID: id, User: name, Units: prefixes, Caps: Capabilities(p.Roles), Duties: duties}
	if mustChange {
		// Until the password is changed the session may do nothing else.
		p.Scope.Caps = nil
		p.Scope.Units = nil
	}
	return p
}

// PublicPrincipal is the anonymous visitor of a server with a public scope
// (prefixes of the units the public may see aggregates of).
func PublicPrincipal(prefixes []string) *Principal {
	return &Principal{Name: "public", Roles: []Role{Public}, Via: "public",
		Scope: scope.Scope{User: "public", Units: prefixes, Caps: Capabilities([]Role{Public})}}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of a request, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Errors of authentication; api maps them to 401 and 403.
var (
	// ErrUnauthenticated: no valid session, token or public scope.
	ErrUnauthenticated = errors.New("authentication required")
	// ErrBadCredentials: a login with an unknown name or a wrong password (which of
	// the two is never said).
	ErrBadCredentials = errors.New("unknown user or wrong password")
	// ErrForbidden: authenticated, but the roles do not allow it.
	ErrForbidden = errors.New("not allowed for your roles")
	// ErrPasswordChange: the user must change the password first.
	ErrPasswordChange = errors.New("change your password first")
)
