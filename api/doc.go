// Package api owns onegrid's HTTP interface: routes (all in routes.go), handlers
// (one file each, test beside it), the mapping of errors to HTTP statuses, the
// OpenAPI document, and serving the embedded web page.
package api
