// Command onegrid is the onegrid platform: it serves the command-centre screen and
// its APIs, manages the embedded database, and loads data. It only wires: flags
// and environment become a Config, and the packages do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
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
	if err != nil {
		if err.Error() != "" {
			fmt.Fprintln(os.Stderr, "onegrid:", err)
		}
		var ec exitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
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
  db          manage the embedded database: db start|stop|status|psql
  gen         generate a synthetic city into the database
  ingest      load a file: ingest <kind> <file>
  hotspots    run hotspot analysis

global flags (also read from the environment):
`

// Run parses global flags and runs one command.
func (m *Main) Run(ctx context.Context, args []string) error {
	fs := m.Config.flagSet("onegrid", m.Stderr)
	fs.Usage = func() {
		fmt.Fprint(m.Stderr, usage)
		fs.PrintDefaults()
	}
	if err := m.Config.parse(fs, args); err != nil {
		return usageError{}
	}
	m.Log = newLogger(m.Stderr, m.Config.LogLevel)
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return usageError{}
	}
	cmd, cmdArgs := rest[0], rest[1:]
	run, ok := commands[cmd]
	if !ok {
		fs.Usage()
		return usageError{msg: fmt.Sprintf("unknown command %q", cmd)}
	}
	return run(ctx, m, cmdArgs)
}

// commands maps a command name to its runner; each command's file adds itself.
var commands = map[string]func(ctx context.Context, m *Main, args []string) error{}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
