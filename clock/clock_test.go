package clock

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-11-01T08:00:00+08:00", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01", time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC)},
		{"2025-01-02T03:04:05Z", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
	} {
		c, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		// The clock starts at the instant and advances: within a second of it.
		if d := c().Sub(tc.want); d < 0 || d > time.Second {
			t.Errorf("Parse(%q)() = %v, want %v (+ < 1 s)", tc.in, c(), tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "2026-13-01", "2026-11-01 08:00"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
	if c, err := Parse(""); err != nil || c().Sub(time.Now()).Abs() > time.Second {
		t.Errorf(`Parse("") is not the system clock`)
	}
}

func TestFromAdvances(t *testing.T) {
	start := time.Date(2020, 2, 29, 12, 0, 0, 0, time.UTC)
	c := From(start)
	a := c()
	time.Sleep(20 * time.Millisecond)
	b := c()
	if a.Before(start) || b.Sub(a) < 20*time.Millisecond || b.Sub(start) > time.Second {
		t.Errorf("From(%v): read %v then %v", start, a, b)
	}
}
