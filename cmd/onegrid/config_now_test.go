package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestConfigNow: --now starts the one clock every package gets; a bad value is
// refused naming the flag.
func TestConfigNow(t *testing.T) {
	var c Config
	fs := c.flagSet("onegrid", io.Discard)
	if err := c.parse(fs, []string{"--now", "2025-03-01T12:00:00+08:00"}); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 3, 1, 4, 0, 0, 0, time.UTC)
	for name, got := range map[string]time.Time{"config": c.clock(), "query": c.queryConfig().Now()} {
		if d := got.Sub(want); d < 0 || d > time.Second {
			t.Errorf("%s clock reads %v, want %v", name, got, want)
		}
	}
	var bad Config
	err := bad.parse(bad.flagSet("onegrid", io.Discard), []string{"--now", "last tuesday"})
	if err == nil || !strings.Contains(err.Error(), "--now") {
		t.Errorf("--now 'last tuesday': %v, want an error naming --now", err)
	}
}
