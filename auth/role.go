package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onegrid/onegrid/scope"
)

// Role is a job on the platform.
type Role string

// The roles (DOMAIN.md, "Roles and jurisdiction").
const (
	Admin      Role = "admin"       // runs the platform: everything but the audit log and unmasking
	Command    Role = "command"     // command-centre operator: the whole screen of a district or the city
	Officer    Role = "officer"     // community or street officer: everything in the subtree
	GridWorker Role = "grid_worker" // grid leader or worker: one grid (or micro-grids)
	Handler    Role = "handler"     // department handler: the events of the jurisdiction
	Planner    Role = "planner"     // planner: grids, loads and aggregates, no personal field
	Analyst    Role = "analyst"     // ministry or higher-level analyst: disclosure-controlled aggregates only
	Auditor    Role = "auditor"     // reads the audit log
	// Public is the anonymous visitor of a server started with a public scope:
	// disclosure-controlled aggregates and layers without personal data.
	Public Role = "public"
)

// Roles lists the roles a user may have (Public is not one).
var Roles = []Role{Admin, Command, Officer, GridWorker, Handler, Planner, Analyst, Auditor}

// capabilities says what each role allows. It is the one definition: the
// database policies check the capabilities a request carries, never role names.
var capabilities = map[Role][]string{
	Admin:      {scope.CanRows, scope.CanHouseholds, scope.CanAggregates, scope.CanEvents, scope.CanUsers, scope.CanLoads, scope.CanSensitive},
	Command:    {scope.CanRows, scope.CanAggregates, scope.CanEvents},
	Officer:    {scope.CanRows, scope.CanHouseholds, scope.CanPersonal, scope.CanAggregates, scope.CanEvents},
	GridWorker: {scope.CanRows, scope.CanHouseholds, scope.CanPersonal, scope.CanAggregates, scope.CanEvents},
	Handler:    {scope.CanRows, scope.CanAggregates, scope.CanEvents},
	Planner:    {scope.CanRows, scope.CanAggregates},
	Analyst:    {scope.CanAggregates},
	Auditor:    {scope.CanAudit},
	Public:     {scope.CanAggregates},
}

// Capabilities returns what the roles allow together, sorted.
func Capabilities(roles []Role) []string {
	var caps []string
	for _, r := range roles {
		for _, c := range capabilities[r] {
			if !slices.Contains(caps, c) {
				caps = append(caps, c)
			}
		}
	}
	slices.Sort(caps)
	return caps
}

// ParseRoles reads a comma-separated list of roles.
func ParseRoles(s string) ([]Role, error) {
	var out []Role
	for part := range strings.SplitSeq(s, ",") {
		r := Role(strings.TrimSpace(part))
		if r == "" {
			continue
		}
		if !slices.Contains(Roles, r) {
			return nil, fmt.Errorf("unknown role %q; roles: %s", r, joinRoles(Roles))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no role given; roles: %s", joinRoles(Roles))
	}
	return out, nil
}

func joinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}
