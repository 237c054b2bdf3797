// Package shareddata finds, for tests, the real public data kept beside the
// repository (shared/data in a parent directory, or ONEGRID_SHARED_DATA). Where it
// is absent a test is skipped with the reason, and fails under CI=true, where the
// data is always there.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the shared data directory or ends the test.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("ONEGRID_SHARED_DATA"); d != "" {
		return d
	}
	dir, _ := filepath.Abs(".")
	for range 6 {
		d := filepath.Join(dir, "shared", "data")
		if _, err := os.Stat(filepath.Join(d, "PROVENANCE.md")); err == nil {
			return d
		}
		dir = filepath.Dir(dir)
	}
	msg := "shared data (shared/data with PROVENANCE.md) not found in a parent directory; set ONEGRID_SHARED_DATA"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
