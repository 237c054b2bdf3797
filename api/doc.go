// Package api owns onegrid's HTTP interface: routes (all in routes.go), handlers
// (one file each, test beside it), the mapping of errors to HTTP statuses, the
// OpenAPI document, and serving the embedded web page. What every request goes
// through is here too: who is asking (auth.go), the security headers and
// private caching (headers.go), the check of its text (input.go), the limits of
// expensive routes and login throttling (limits.go, package limit), the body's
// read deadline and the access log (server.go).
package api
