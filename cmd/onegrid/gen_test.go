package main

import (
	"strings"
	"testing"

	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestGenCommand: gen ends at the clock's reading (--now), --end overrides it,
// --keep brings an existing city up to the clock and does nothing when it is
// up to date, and without --keep a second city is refused.
func TestGenCommand(t *testing.T) {
	url := pgtest.ConnString(t)
	out := t.TempDir()
	for _, step := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--now", "2026-04-10T08:00:00+08:00", "gen", "--households", "1000", "--months", "1", "--out", out},
			0, "generated 1000 households"},
		{[]string{"gen", "--keep", "--out", out, "--now", "2026-04-12T20:00:00+08:00"},
			0, "brought up to date, 2026-04-10 08:00:00 – 2026-04-12 20:00:00 China time"},
		{[]string{"gen", "--keep", "--out", out, "--now", "2026-04-12T20:00:00+08:00"},
			0, "its events are up to date (to 2026-04-12 20:00:00 China time)"},
		{[]string{"gen", "--keep", "--out", out, "--end", "2026-04-11"},
			0, "its events are up to date (to 2026-04-12 20:00:00 China time)"},
		{[]string{"gen", "--keep", "--out", out, "--end", "2026-04-13", "--now", "2030-01-01"},
			0, "brought up to date, 2026-04-12 20:00:00 – 2026-04-13 00:00:00 China time"},
		{[]string{"gen", "--households", "1000", "--out", out, "--end", "2026-05-01"},
			1, "use --replace to regenerate"},
	} {
		stdout, stderr, code, msg := run(t, append([]string{"--database-url", url, "--log-level", "warn"}, step.args...)...)
		if code != step.code || !strings.Contains(stdout+msg, step.want) {
			t.Fatalf("onegrid %s: exit %d, stdout %q, error %q, stderr %q; want exit %d and %q",
				strings.Join(step.args, " "), code, stdout, msg, stderr, step.code, step.want)
		}
	}
}
