package pgtest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A test binary that is killed (go test's -timeout panics, a CI job is
// cancelled) cannot stop its throw-away cluster: the postmaster, with its
// shared memory and its directory, outlives it. Each cluster directory
// therefore records the test binary that owns it (ownerFile), and the next test
// binary to start a cluster stops and removes those whose owner is gone.
const (
	dirPattern = "onegrid-pgtest-*"
	ownerFile  = "owner.pid"
)

// claim records this process as the owner of the cluster directory dir.
func claim(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// reapStale stops and removes the clusters under tmp whose owning test binary
// no longer runs, and returns the directories it removed. A directory without
// an owner file, or whose owner still runs (or cannot be told), is left alone.
func reapStale(tmp string) []string {
	dirs, _ := filepath.Glob(filepath.Join(tmp, dirPattern))
	var reaped []string
	for _, dir := range dirs {
		owner, ok := readPID(filepath.Join(dir, ownerFile))
		if !ok || alive(owner) {
			continue
		}
		if pm, ok := readPID(filepath.Join(dir, "pgdata", "postmaster.pid")); ok && alive(pm) {
			// Immediate shutdown: the cluster is thrown away anyway.
			_ = syscall.Kill(pm, syscall.SIGQUIT)
			for deadline := time.Now().Add(10 * time.Second); alive(pm) && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			if alive(pm) {
				continue
			}
		}
		if os.RemoveAll(dir) == nil {
			reaped = append(reaped, dir)
		}
	}
	return reaped
}

// readPID reads the process id on the first line of a pid file.
func readPID(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	return pid, err == nil && pid > 0
}

// alive reports whether process pid exists; a process this user may not signal
// exists too.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
