package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestDataKey: the key file --data-key-file names, else data.key in the
// embedded database's directory, each created 0600 at first use and the same
// key after; with --database-url and no file, none.
func TestDataKey(t *testing.T) {
	dir := t.TempDir()
	m := &Main{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	m.Config.DataDir = dir
	k1, err := m.dataKey()
	if err != nil || k1 == nil {
		t.Fatalf("embedded default: %v %v", k1, err)
	}
	st, err := os.Stat(filepath.Join(dir, dataKeyName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("default key file: %v %v", st, err)
	}
	if k2, err := m.dataKey(); err != nil || k2.ID() != k1.ID() {
		t.Errorf("second use: %v %v, want the same key", k2, err)
	}
	m.Config.DatabaseURL = "postgres://elsewhere/db"
	if k, err := m.dataKey(); err != nil || k != nil {
		t.Errorf("external database without a key file: %v %v, want none", k, err)
	}
	m.Config.DataKeyFile = filepath.Join(dir, "other", "k")
	k3, err := m.dataKey()
	if err != nil || k3 == nil || k3.ID() == k1.ID() {
		t.Errorf("--data-key-file: %v %v, want a new key", k3, err)
	}
}
