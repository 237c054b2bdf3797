// Package auth owns identity: users, their roles and jurisdictions, passwords,
// API tokens and web sessions, and the Principal that every request carries in
// its context.
//
// Roles are the platform's users' jobs (DOMAIN.md): a grid worker sees one grid,
// a community or street officer a subtree, the command centre its district or
// city, a planner the grids of an area without personal data, a ministry analyst
// disclosure-controlled aggregates only, an auditor the audit log. A user has one
// or more roles and one or more units (admin or grid codes; "*" for
// everything); the Principal turns them into a scope.Scope, which the database
// enforces (package scope).
//
// Passwords are hashed with Argon2id (golang.org/x/crypto/argon2, RFC 9106's
// second recommended parameter set); API tokens and session cookies are 256-bit
// random values of which only SHA-256 hashes are stored. Who someone is comes
// from a Provider — the password provider here; an OpenID Connect provider can
// be added behind the same small interface — and everything after that
// (sessions, tokens, the scope) does not depend on how they proved it.
package auth
