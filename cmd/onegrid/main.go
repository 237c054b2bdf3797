// Command onegrid is the onegrid platform: it serves the command-centre screen and
// its APIs, manages the embedded database, and loads data. It only wires: flags
// and environment become a Config, and the packages do the work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := NewMain(os.Stdout, os.Stderr)
	err := m.Run(ctx, os.Args[1:])
	stop()
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil && err.Error() != "" {
		fmt.Fprintln(os.Stderr, "onegrid:", err)
	}
	os.Exit(exitCode(err))
}

// exitCode is the process exit status for Run's error: 0 for nil, the error's
// own (2 for usage errors) or 1.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

// exitCoder is an error that chooses the process exit status.
type exitCoder interface{ ExitCode() int }

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
func (e usageError) ExitCode() int { return 2 }

// Main is the program: it owns what Run opened and Close releases.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Config         Config
	Log            *slog.Logger

	global *flag.FlagSet // the global flags, set on Config; commands accept them too

	closers []func() error
}

// NewMain returns a Main writing to the given streams.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr}
}

// onClose registers f to run at Close, last registered first.
func (m *Main) onClose(f func() error) { m.closers = append(m.closers, f) }

// Close releases everything Run opened (it stops a database that Run started).
func (m *Main) Close() error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		if err := m.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	m.closers = nil
	return errors.Join(errs...)
}

const usage = `onegrid: city grid governance on a unified address layer

usage: onegrid [global flags] <command> [flags]

commands:
  serve       serve the command-centre screen, tiles and APIs (migrates first)
  migrate     apply pending schema migrations
  db          manage the embedded database: db start|stop|status|psql|app-role
  gen         generate a synthetic city into the database, or bring it up to date
  ingest      load a file: ingest <kind> <file>
  hotspots    run hotspot analysis
  users       manage users, roles, units and API tokens: users add|list|…
  help        this text; help <command> for a command's flags

Global flags may come before or after the command (onegrid serve --addr :8081);
each is also read from the environment, and a flag wins:
`

// Run parses the global flags and runs one command, which parses its own flags
// and any global flags that follow it (parseFlags). --help prints usage to
// stdout and returns nil; a bad flag, value or argument is a usageError of one
// line that names it.
func (m *Main) Run(ctx context.Context, args []string) error {
	m.global = m.Config.flagSet("onegrid", io.Discard)
	rest, err := parseArgs(nil, m.global, args, false)
	if errors.Is(err, flag.ErrHelp) {
		m.printUsage(m.Stdout)
		return nil
	}
	if err != nil {
		return usageError{msg: err.Error()}
	}
	if err := m.configured(); err != nil {
		return err
	}
	if len(rest) == 0 {
		m.printUsage(m.Stderr)
		return usageError{}
	}
	cmd, cmdArgs := rest[0], rest[1:]
	if cmd == "help" {
		if len(cmdArgs) == 0 {
			m.printUsage(m.Stdout)
			return nil
		}
		cmd, cmdArgs = cmdArgs[0], []string{"-h"}
	}
	run, ok := commands[cmd]
	if !ok {
		return usageError{msg: fmt.Sprintf("unknown command %q (onegrid -h lists them)", cmd)}
	}
	if err := run(ctx, m, cmdArgs); !errors.Is(err, flag.ErrHelp) {
		return err
	}
	return nil
}

func (m *Main) printUsage(w io.Writer) {
	fmt.Fprint(w, usage)
	m.global.SetOutput(w)
	m.global.PrintDefaults()
	m.global.SetOutput(io.Discard)
}

// configured checks the configuration the flags and environment gave and
// makes the logger from it.
func (m *Main) configured() error {
	if err := m.Config.validate(); err != nil {
		return usageError{msg: err.Error()}
	}
	m.Log = newLogger(m.Stderr, m.Config.LogLevel)
	return nil
}

// parseFlags parses a command's arguments: its own flags (fs), the global flags,
// and its positional arguments, in any order (a "--" ends the flags); fs.Args()
// then returns the positional arguments. -h or --help prints fs.Usage to stdout
// and returns flag.ErrHelp, which Run turns into success; any other error is
// the usageError to return.
func (m *Main) parseFlags(fs *flag.FlagSet, args []string) error {
	return m.parseCommand(fs, args, true)
}

// parseFlagsToArg is parseFlags that stops at the first positional argument,
// for a command that passes the rest on (db psql).
func (m *Main) parseFlagsToArg(fs *flag.FlagSet, args []string) error {
	return m.parseCommand(fs, args, false)
}

func (m *Main) parseCommand(fs *flag.FlagSet, args []string, interspersed bool) error {
	fs.SetOutput(io.Discard) // errors are returned as one line, never printed with the usage
	pos, err := parseArgs(fs, m.global, args, interspersed)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(m.Stdout)
		fs.Usage()
		fmt.Fprintln(m.Stdout, "\nGlobal flags (onegrid -h) may come before or after the command.")
		return flag.ErrHelp
	}
	if err != nil {
		return usageError{msg: fs.Name() + ": " + err.Error()}
	}
	if err := m.configured(); err != nil {
		return err
	}
	// fs.Args() returns what follows a "--".
	return fs.Parse(append([]string{"--"}, pos...))
}

// unexpectedArgs is the error for positional arguments a command does not take.
func unexpectedArgs(fs *flag.FlagSet) error {
	if fs.NArg() == 0 {
		return nil
	}
	return usageError{msg: fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
}

// parseArgs sets each flag in args on own (a command's flag set, or nil) or else
// global, and returns the positional arguments: all of them when interspersed,
// else those from the first one on. A flag is -name or --name, with its value
// after "=" or as the next argument (booleans take only "="); "--" ends the
// flags. -h and --help, unless own defines them, return flag.ErrHelp.
func parseArgs(own, global *flag.FlagSet, args []string, interspersed bool) ([]string, error) {
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(pos, args[i+1:]...), nil
		}
		if len(a) < 2 || a[0] != '-' {
			if !interspersed {
				return append(pos, args[i:]...), nil
			}
			pos = append(pos, a)
			continue
		}
		name := strings.TrimPrefix(a[1:], "-")
		if name == "" || name[0] == '-' || name[0] == '=' {
			return nil, fmt.Errorf("bad flag syntax %q", a)
		}
		name, value, hasValue := strings.Cut(name, "=")
		set := own
		f := lookup(own, name)
		if f == nil {
			set, f = global, lookup(global, name)
		}
		if f == nil {
			if name == "h" || name == "help" {
				return nil, flag.ErrHelp
			}
			return nil, fmt.Errorf("unknown flag %s", strings.SplitN(a, "=", 2)[0])
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			if !hasValue {
				value = "true"
			}
		} else if !hasValue {
			if i+1 == len(args) {
				return nil, fmt.Errorf("flag --%s needs a value", name)
			}
			i++
			value = args[i]
		}
		if err := set.Set(name, value); err != nil {
			return nil, fmt.Errorf("invalid value %q for flag --%s: %v", value, name, err)
		}
	}
	return pos, nil
}

func lookup(fs *flag.FlagSet, name string) *flag.Flag {
	if fs == nil {
		return nil
	}
	return fs.Lookup(name)
}

// commands maps a command name to its runner; each command's file adds itself.
// A runner parses its arguments with m.parseFlags (or parseFlagsToArg).
var commands = map[string]func(ctx context.Context, m *Main, args []string) error{}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
