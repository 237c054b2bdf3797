package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestIngestCommand runs `onegrid ingest` end to end: the summary, the exit
// status on rejects, --allow-rejects, --map and the reject file.
func TestIngestCommand(t *testing.T) {
	url := pgtest.ConnString(t)
	dir := t.TempDir()
	grids := filepath.Join(dir, "g.csv")
	os.WriteFile(grids, []byte("gcode,lvl,wkt\n440303001001001,grid,\"POLYGON((114 22.5,114.1 22.5,114.1 22.6,114 22.6,114 22.5))\"\n440303001001002,grid,\"POLYGON((114 22.5\"\n"), 0o644)
	cats := filepath.Join(dir, "c.csv")
	os.WriteFile(cats, []byte("code,parent,level,name\nA,,1,a\nA1,A,2,a1\nA11,A1,3,a11\n"), 0o644)
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		m := NewMain(&out, &out)
		err := m.Run(context.Background(), append([]string{"--database-url", url, "--log-level", "warn"}, args...))
		if cerr := m.Close(); err == nil {
			err = cerr
		}
		return out.String(), err
	}
	for _, c := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"rejects exit 3", []string{"ingest", "--map", "code=gcode,level=lvl", grids}, 2, "ingest needs <kind> <file>"},
		{"bad mapping", []string{"ingest", "--map", "code", "grids", grids}, 2, "--map: mapping item 1"},
		{"rejects", []string{"ingest", "--map", "code=gcode,level=lvl", "grids", grids}, 3, "read 2, loaded 1, unchanged 0, rejected 1"},
		{"allowed rejects", []string{"ingest", "--allow-rejects", "--map", "code=gcode,level=lvl", "grids", grids}, 0, "read 2, loaded 0, unchanged 1, rejected 1"},
		{"categories", []string{"ingest", "categories", cats}, 0, "read 3, loaded 3 (created 3, updated 0), unchanged 0, rejected 0"},
		{"categories again", []string{"ingest", "categories", cats}, 0, "read 3, loaded 0 (created 0, updated 0), unchanged 3, rejected 0"},
		{"bad preset", []string{"ingest", "--preset", "la", "open311", grids}, 2, `--preset "la": want sf or none`},
		{"areas for grids", []string{"ingest", "--area-code", "X", "grids", grids}, 1, "creating categories and areas is for events and open311"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(c.args...)
			code := 0
			if err != nil {
				code = 1
				var ec exitCoder
				if errors.As(err, &ec) {
					code = ec.ExitCode()
				}
				out += err.Error()
			}
			if code != c.wantCode || !strings.Contains(out, c.wantOut) {
				t.Errorf("exit %d, output %q; want exit %d and %q", code, out, c.wantCode, c.wantOut)
			}
		})
	}
	b, err := os.ReadFile(grids + ".rejects.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "line,field,reason,raw\n3,wkt,invalid WKT") {
		t.Errorf("reject file:\n%s", b)
	}
}
