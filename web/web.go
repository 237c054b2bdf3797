// Package web holds onegrid's command-centre page. Its sources (src/, plain ES
// modules over MapLibre GL JS) are bundled by `make web` into dist/, which this
// package embeds so that the onegrid binary serves the page with no files beside it.
//
// dist/ is not committed except for a placeholder, so the Go build works before the
// page is built; Dist then has no index.html and the server says how to build it.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built page: index.html and assets/ at its root.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path; fs.Sub cannot fail on it
	}
	return sub
}

// Built reports whether Dist holds a built page.
func Built() bool {
	_, err := fs.Stat(Dist(), "index.html")
	return err == nil
}
