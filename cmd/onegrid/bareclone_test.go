package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestBareClone is a user's `make demo` in a fresh clone with nothing beside it:
// it copies the files git tracks to an empty temporary directory, builds onegrid
// there and runs the demo's load path (`make demo-load`: migrate, gen of a small
// city with --keep, the optional extras skipped) against a test database, with
// the clock set by ONEGRID_NOW; then again three days later, which brings the
// city up to date. It also runs the built binary's --help and a bad flag for
// their exit statuses.
func TestBareClone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds onegrid in a copy of the repository")
	}
	for _, tool := range []string{"git", "go", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
	url := pgtest.ConnString(t)
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("not in a git checkout: %v", err)
		}
		t.Skipf("not in a git checkout: %v", err)
	}
	src := strings.TrimSpace(string(top))
	repo := filepath.Join(t.TempDir(), "onegrid")
	n := copyTracked(t, src, repo)
	// Where onegrid and the Makefile would look for shared data: nothing.
	for _, d := range []string{filepath.Join(repo, "..", "shared"), filepath.Join(repo, "..", "..", "shared")} {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s exists beside the copy", d)
		}
	}
	t.Logf("copied %d tracked files to %s", n, repo)

	// The environment of a user's shell: nothing of onegrid's but the test
	// database and the clock.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ONEGRID_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	env = append(env, "DATABASE_URL="+url)
	run := func(now string, name string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = repo
		cmd.Env = append(env[:len(env):len(env)], "ONEGRID_NOW="+now)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("%s %v: %v", name, args, err)
			}
			code = ee.ExitCode()
		}
		return out.String(), errb.String(), code
	}
	if out, errs, code := run("", "go", "build", "-o", "bin/onegrid", "./cmd/onegrid"); code != 0 {
		t.Fatalf("go build in the copy: exit %d\n%s%s", code, out, errs)
	}

	ctx := context.Background()
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	check := func(now time.Time) (events int64) {
		t.Helper()
		var households int64
		var end, last time.Time
		err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM household WHERE dataset = 'citygen'), (SELECT count(*) FROM event WHERE dataset = 'citygen'),
			(SELECT max(reported_at) FROM event), (SELECT period_end FROM citygen_city)`).Scan(&households, &events, &last, &end)
		if err != nil {
			t.Fatal(err)
		}
		if households != 1000 || events == 0 || !end.Equal(now) || !last.Before(now) || last.Before(now.Add(-48*time.Hour)) {
			t.Errorf("city: %d households, %d events, the last at %v, period end %v; want 1,000 households and events up to %v", households, events, last, end, now)
		}
		return events
	}

	now := time.Date(2026, 6, 1, 9, 30, 0, 0, clock.China)
	out, errs, code := run(now.Format(time.RFC3339), "make", "--no-print-directory", "demo-load", "DEMO_HOUSEHOLDS=1000")
	if code != 0 || !strings.Contains(out, "generated 1000 households") || !strings.Contains(out, "skipping the Sha Tin and San Francisco areas") {
		t.Fatalf("make demo-load: exit %d\n%s%s", code, out, errs)
	}
	first := check(now)

	later := now.AddDate(0, 0, 3)
	out, errs, code = run(later.Format(time.RFC3339), "make", "--no-print-directory", "demo-load", "DEMO_HOUSEHOLDS=1000")
	if code != 0 || !strings.Contains(out, "brought up to date, 2026-06-01 09:30:00 – 2026-06-04 09:30:00") {
		t.Fatalf("make demo-load three days later: exit %d\n%s%s", code, out, errs)
	}
	if again := check(later); again <= first {
		t.Errorf("%d events before, %d after catching up three days", first, again)
	}

	// The built program's exit statuses.
	if out, errs, code := run("", "bin/onegrid", "gen", "--help"); code != 0 || !strings.Contains(out, "usage: onegrid gen") || errs != "" {
		t.Errorf("onegrid gen --help: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if out, errs, code := run("", "bin/onegrid", "serve", "--bogus"); code != 2 || out != "" || errs != "onegrid: serve: unknown flag --bogus\n" {
		t.Errorf("onegrid serve --bogus: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// copyTracked copies the files git tracks under src (as they are in the working
// tree) to dst and returns how many it copied.
func copyTracked(t *testing.T, src, dst string) int {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = src
	list, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	n := 0
	for _, name := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		from := filepath.Join(src, name)
		st, err := os.Lstat(from)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, to); err != nil {
				t.Fatal(err)
			}
			n++
			continue
		}
		if err := copyFile(from, to, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

func copyFile(from, to string, perm fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
