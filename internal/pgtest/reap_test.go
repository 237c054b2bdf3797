package pgtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestReapStale: a cluster directory whose owning test binary is gone has its
// postmaster stopped and is removed; one whose owner runs, and one without an
// owner file, are left alone. The "postmaster" is a sleep process, whose pid
// stands in postmaster.pid as PostgreSQL writes it (pid on the first line).
func TestReapStale(t *testing.T) {
	tmp := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal("run `true`:", err)
	}
	postmaster := exec.Command("sleep", "60")
	if err := postmaster.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- postmaster.Wait() }()
	t.Cleanup(func() { _ = postmaster.Process.Kill() })

	mk := func(name string, owner int, pm int) string {
		dir := filepath.Join(tmp, "onegrid-pgtest-"+name)
		if err := os.MkdirAll(filepath.Join(dir, "pgdata"), 0o755); err != nil {
			t.Fatal(err)
		}
		if owner > 0 {
			if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(owner)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if pm > 0 {
			if err := os.WriteFile(filepath.Join(dir, "pgdata", "postmaster.pid"), []byte(strconv.Itoa(pm)+"\n/tmp/x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	stale := mk("stale", gone.Process.Pid, postmaster.Process.Pid)
	mine := mk("mine", os.Getpid(), postmaster.Process.Pid)
	unowned := mk("unowned", 0, 0)

	reaped := reapStale(tmp)
	if len(reaped) != 1 || reaped[0] != stale {
		t.Errorf("reaped %v, want only %s", reaped, stale)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Error("the stale cluster's postmaster still runs")
	}
	for _, dir := range []string{mine, unowned} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s was removed: %v", dir, err)
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", stale, err)
	}
}
