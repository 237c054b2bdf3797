package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
)

func TestHotspotsCommand(t *testing.T) {
	url := pgtest.ConnString(t)
	db, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := fixture.New().Load(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"table", []string{"hotspots", "--to", "2026-11-01", "--days", "300"}, "hot cells (FDR)"},
		{"json", []string{"hotspots", "--json", "--to", "2026-11-01", "--days", "300", "--res", "10"}, `"status": "ok"`},
		{"standard", []string{"hotspots", "--standard"}, "standard set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			m := NewMain(&out, &errb)
			defer m.Close()
			if err := m.Run(context.Background(), append([]string{"--database-url", url}, tc.args...)); err != nil {
				t.Fatalf("%v\n%s", err, errb.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, out.String())
			}
			if tc.name == "json" {
				var v map[string]any
				if err := json.Unmarshal(out.Bytes(), &v); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
