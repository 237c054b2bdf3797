package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestUsersCommand drives `onegrid users` as an administrator would.
func TestUsersCommand(t *testing.T) {
	url := pgtest.ConnString(t)
	db, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := fixture.New().Load(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		m := NewMain(&out, &out)
		m.Stdin = strings.NewReader(stdin)
		err := m.Run(context.Background(), append([]string{"--database-url", url, "--now", "2026-11-01", "users"}, args...))
		m.Close()
		return out.String(), err
	}
	out, err := run("", "add", "wang", "--roles", "grid_worker", "--units", fixture.GridA, "--display-name", "王网格员")
	if err != nil || !strings.Contains(out, "one-time password:") {
		t.Fatalf("add: %v\n%s", err, out)
	}
	if out, err = run("a chosen password\n", "add", "li", "--roles", "officer,handler", "--units", fixture.StreetYL, "--password-stdin"); err != nil || strings.Contains(out, "password:") {
		t.Fatalf("add with a password: %v\n%s", err, out)
	}
	out, err = run("", "list")
	if err != nil || !strings.Contains(out, "wang") || !strings.Contains(out, "new password due") || !strings.Contains(out, "officer,handler") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err = run("", "token", "li", "--name", "tablet", "--expires", "30d"); err != nil || !strings.HasPrefix(out, "ogt_") {
		t.Fatalf("token: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"add", "x", "--roles", "mayor", "--units", "*"},
		{"add", "x", "--roles", "planner", "--units", "123456000000"},
		{"add", "wang", "--roles", "planner", "--units", "*"},
		{"token", "li", "--name", "tablet"},
		{"token", "li", "--name", "x", "--expires", "forever"},
		{"disable", "nobody"},
		{"frobnicate"},
		{"disable"},
	} {
		out, err := run("", bad...)
		if ec, ok := err.(exitCoder); !ok || ec.ExitCode() != 2 {
			t.Errorf("users %v: %v (want a usage error)\n%s", bad, err, out)
		}
	}
	if out, err = run("", "disable", "li"); err != nil {
		t.Fatalf("disable: %v\n%s", err, out)
	}
	if out, _ = run("", "list"); !strings.Contains(out, "disabled") {
		t.Errorf("list after disable:\n%s", out)
	}
}
