package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/onegrid/onegrid/citygen"
)

func init() { commands["gen"] = runGen }

// runGen generates a synthetic city into the database (wiring only: see citygen).
func runGen(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	var o citygen.Options
	var end, out string
	var seed uint64
	fs.IntVar(&o.Households, "households", 100_000, fmt.Sprintf("households to generate (%d..%d)", citygen.MinHouseholds, citygen.MaxHouseholds))
	fs.Uint64Var(&seed, "seed", 1, "random seed: the same seed gives the same city, ids included")
	fs.IntVar(&o.Months, "months", 12, "months of events")
	fs.StringVar(&end, "end", citygen.DefaultEnd.Format("2006-01-02"), "end of the event period (exclusive), a date in China Standard Time")
	fs.Float64Var(&o.EventsPerHousehold, "events-per-household", 1, "background events per household per year")
	fs.IntVar(&o.Hotspots, "hotspots", 5, "planted event hotspots")
	fs.StringVar(&out, "out", ".", "directory for output files (the hotspot truth file)")
	fs.StringVar(&o.TruthPath, "truth", "", "hotspot ground-truth JSON file (default <out>/hotspots_truth.json)")
	fs.BoolVar(&o.Replace, "replace", false, "replace an earlier generated city instead of refusing")
	keep := fs.Bool("keep", false, "keep an earlier generated city and succeed without generating (for make demo)")
	fs.StringVar(&o.SharedData, "shared-data", env("ONEGRID_SHARED_DATA", ""), "shared data directory (ONEGRID_SHARED_DATA; default ../shared/data from the working directory or the executable)")
	if err := fs.Parse(args); err != nil {
		return usageError{}
	}
	if fs.NArg() > 0 {
		return usageError{msg: "gen takes flags only"}
	}
	o.Seed = seed
	t, err := time.ParseInLocation("2006-01-02", end, citygen.DefaultEnd.Location())
	if err != nil {
		return usageError{msg: fmt.Sprintf("--end %q: want YYYY-MM-DD", end)}
	}
	o.End = t
	if o.TruthPath == "" {
		o.TruthPath = filepath.Join(out, "hotspots_truth.json")
	}
	if o.SharedData, err = sharedDataDir(o.SharedData); err != nil {
		return err
	}
	o.Log = m.Log
	if o.DataKey, err = m.dataKey(); err != nil {
		return err
	}
	db, err := m.openDB(ctx, true)
	if err != nil {
		return err
	}
	sum, err := citygen.Generate(ctx, db, o)
	if *keep && errors.Is(err, citygen.ErrExists) {
		fmt.Fprintln(m.Stdout, "a generated city exists: kept (use --replace to regenerate)")
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "generated %d households, %d people in %s\n", sum.Households, sum.People, joinNames(sum.Districts))
	tables := make([]string, 0, len(sum.Rows))
	for t := range sum.Rows {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		fmt.Fprintf(m.Stdout, "  %-15s %10d rows\n", t, sum.Rows[t])
	}
	fmt.Fprintf(m.Stdout, "  %-15s %8s %8s %8s\n", "phase", "wall s", "cpu s", "server s")
	for _, p := range sum.Phases {
		server := "-"
		if p.ServerCPU >= 0 {
			server = fmt.Sprintf("%8.2f", p.ServerCPU)
		}
		fmt.Fprintf(m.Stdout, "  %-15s %8.2f %8.2f %8s\n", p.Name, p.Seconds, p.CPU, server)
	}
	fmt.Fprintf(m.Stdout, "%d hotspots written to %s\ntotal %.1f s\n", len(sum.Hotspots), o.TruthPath, sum.Seconds)
	return nil
}

func joinNames(ns []string) string {
	s := ""
	for i, n := range ns {
		if i > 0 {
			s += "、"
		}
		s += n
	}
	return s
}

// sharedDataDir resolves the shared data directory: the flag or
// ONEGRID_SHARED_DATA if given, else ../shared/data relative to the working
// directory (or two levels up, for worktrees), else relative to the executable.
func sharedDataDir(given string) (string, error) {
	const probe = "boundaries"
	if given != "" {
		if _, err := os.Stat(filepath.Join(given, probe)); err != nil {
			return "", fmt.Errorf("shared data %s: %w (want the directory holding boundaries/)", given, err)
		}
		return given, nil
	}
	var tried []string
	// ../../shared/data serves worktrees kept one level below the main checkout.
	if wd, err := os.Getwd(); err == nil {
		tried = append(tried, filepath.Join(wd, "..", "shared", "data"), filepath.Join(wd, "..", "..", "shared", "data"))
	}
	if exe, err := os.Executable(); err == nil {
		d := filepath.Dir(exe)
		tried = append(tried, filepath.Join(d, "..", "shared", "data"), filepath.Join(d, "..", "..", "shared", "data"))
	}
	for _, d := range tried {
		if _, err := os.Stat(filepath.Join(d, probe)); err == nil {
			return filepath.Clean(d), nil
		}
	}
	return "", errors.New("shared data not found: pass --shared-data DIR or set ONEGRID_SHARED_DATA to the directory holding boundaries/shenzhen_districts_gcj02.geojson")
}
