package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
)

// run runs onegrid with args and returns its stdout, stderr, exit status and
// the error's text (what main prints after "onegrid: ").
func run(t *testing.T, args ...string) (stdout, stderr string, code int, msg string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := NewMain(&out, &errb)
	err := m.Run(context.Background(), args)
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		msg = err.Error()
	}
	return out.String(), errb.String(), exitCode(err), msg
}

// probe is a command for these tests: it records what its flags and the global
// flags were set to, and its positional arguments.
type probe struct {
	n    int
	v    bool
	addr string
	args []string
}

func init() {
	var p probe
	commands["probe"] = func(ctx context.Context, m *Main, args []string) error {
		fs := flag.NewFlagSet("probe", flag.ContinueOnError)
		fs.IntVar(&p.n, "n", 0, "a number")
		fs.BoolVar(&p.v, "v", false, "a switch")
		if err := m.parseFlags(fs, args); err != nil {
			return err
		}
		p.addr, p.args = m.Config.Addr, fs.Args()
		lastProbe = p
		return nil
	}
}

var lastProbe probe

// TestGlobalFlagsAnywhere: global flags before the command, among its flags
// and after its arguments; its own flags as before; "--" ends the flags.
func TestGlobalFlagsAnywhere(t *testing.T) {
	t.Setenv("ONEGRID_ADDR", "")
	for _, tc := range []struct {
		name string
		args []string
		want probe
	}{
		{"before", []string{"--addr", "a:1", "probe", "-n", "3", "x"}, probe{n: 3, addr: "a:1", args: []string{"x"}}},
		{"after", []string{"probe", "--addr", "a:1", "-n=3", "x"}, probe{n: 3, addr: "a:1", args: []string{"x"}}},
		{"after the arguments", []string{"probe", "x", "y", "--addr=a:1", "--v"}, probe{v: true, addr: "a:1", args: []string{"x", "y"}}},
		{"after wins", []string{"--addr", "a:1", "probe", "--addr", "b:2"}, probe{addr: "b:2"}},
		{"double dash", []string{"probe", "-v=false", "--", "--addr", "-n"}, probe{args: []string{"--addr", "-n"}}},
		{"negative value", []string{"probe", "-n", "-4"}, probe{n: -4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lastProbe = probe{}
			if _, stderr, code, msg := run(t, tc.args...); code != 0 {
				t.Fatalf("exit %d: %s %s", code, msg, stderr)
			}
			got := lastProbe
			if got.n != tc.want.n || got.v != tc.want.v || got.addr != tc.want.addr || !slices.Equal(got.args, tc.want.args) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestHelp: -h and --help print the usage to stdout and exit 0, for the program
// and for every command.
func TestHelp(t *testing.T) {
	cases := [][]string{{"-h"}, {"--help"}, {"help"}, {"--addr", "x:1", "-help"}, {"db", "start", "-h"}, {"db", "app-role", "-h"},
		{"help", "ingest"}, {"users", "help"}, {"users", "add", "wang", "-h"}}
	for name := range commands {
		cases = append(cases, []string{name, "--help"}, []string{name, "-h"})
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stdout, stderr, code, msg := run(t, args...)
			if code != 0 || msg != "" || stderr != "" {
				t.Fatalf("exit %d, error %q, stderr %q", code, msg, stderr)
			}
			if !strings.Contains(strings.ToLower(stdout), "usage") {
				t.Errorf("stdout has no usage:\n%s", stdout)
			}
		})
	}
	for name := range commands {
		if name != "probe" && !strings.Contains(usage, "\n  "+name+" ") {
			t.Errorf("the usage does not list the command %s", name)
		}
	}
	stdout, _, _, _ := run(t, "gen", "-h")
	for _, want := range []string{"--households", "--keep", "--end", "Global flags"} {
		if !strings.Contains(stdout, strings.TrimPrefix(want, "-")) {
			t.Errorf("gen -h does not mention %s:\n%s", want, stdout)
		}
	}
}

// TestBadArguments: an unknown flag, command or argument, or a flag value that
// does not parse or validate, is one line naming it, exit 2, and nothing else.
func TestBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus", "serve"}, "unknown flag --bogus"},
		{[]string{"serve", "--bogus=1"}, "serve: unknown flag --bogus"},
		{[]string{"gen", "--households", "1000", "-frob"}, "gen: unknown flag -frob"},
		{[]string{"serve", "extra"}, `serve: unexpected argument "extra"`},
		{[]string{"migrate", "now"}, `migrate: unexpected argument "now"`},
		{[]string{"gen", "city"}, `gen: unexpected argument "city"`},
		{[]string{"hotspots", "--days", "7", "x"}, `hotspots: unexpected argument "x"`},
		{[]string{"ingest", "events", "a.csv", "b.csv"}, `ingest: unexpected argument "b.csv"`},
		{[]string{"db", "start", "now"}, `db start: unexpected argument "now"`},
		{[]string{"db", "restart"}, `unknown db command "restart"`},
		{[]string{"db", "app-role", "a", "b"}, `db app-role: unexpected argument "b"`},
		{[]string{"users"}, "users needs a command"},
		{[]string{"users", "frobnicate"}, `users: unknown command "frobnicate"`},
		{[]string{"users", "list", "everyone"}, `users list: unexpected argument "everyone"`},
		{[]string{"users", "add", "--roles"}, "users add: flag --roles needs a value"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"serve", "--addr"}, "serve: flag --addr needs a value"},
		{[]string{"--db-port", "0", "serve"}, "--db-port 0: must be 1..65535"},
		{[]string{"serve", "--db-port", "0"}, "--db-port 0: must be 1..65535"},
		{[]string{"--db-port", "abc", "migrate"}, `invalid value "abc" for flag --db-port`},
		{[]string{"--now", "yesterday", "serve"}, `--now "yesterday": want an RFC 3339 time`},
		{[]string{"hotspots", "--now", "yesterday"}, `--now "yesterday": want an RFC 3339 time`},
		{[]string{"--tile-timeout", "0s", "serve"}, "--tile-timeout 0s: must be positive"},
		{[]string{"gen", "--end", "soon"}, `--end "soon": want a date`},
		{[]string{"gen", "--households", "many"}, `gen: invalid value "many" for flag --households`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code, msg := run(t, tc.args...)
			if code != 2 || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("exit %d, error %q; want exit 2 and one line with %q", code, msg, tc.want)
			}
			if stdout != "" || stderr != "" {
				t.Errorf("printed more than the error: stdout %q, stderr %q", stdout, stderr)
			}
		})
	}
	// No command at all prints the usage (to stderr) and exits 2.
	if _, stderr, code, _ := run(t); code != 2 || !strings.Contains(stderr, "usage: onegrid") {
		t.Errorf("no command: exit %d, stderr %q", code, stderr)
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0}, {errors.New("boom"), 1}, {usageError{msg: "x"}, 2}, {exitError(3), 3}, {flag.ErrHelp, 1},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
