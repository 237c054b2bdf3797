package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/onegrid/onegrid/citygen"
	"github.com/onegrid/onegrid/clock"
)

func init() { commands["gen"] = runGen }

// runGen generates a synthetic city into the database, or with --keep brings
// the one there up to date (wiring only: see citygen).
func runGen(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	var o citygen.Options
	var end, out string
	var seed uint64
	fs.IntVar(&o.Households, "households", 100_000, fmt.Sprintf("households to generate (%d..%d)", citygen.MinHouseholds, citygen.MaxHouseholds))
	fs.Uint64Var(&seed, "seed", 1, "random seed: the same seed gives the same city, ids included")
	fs.IntVar(&o.Months, "months", 12, "months of events")
	fs.StringVar(&end, "end", "", "end of the event period (exclusive): a date (midnight, China time) or an RFC 3339 time; default the clock's reading (--now)")
	fs.Float64Var(&o.EventsPerHousehold, "events-per-household", 1, "background events per household per year")
	fs.IntVar(&o.Hotspots, "hotspots", 5, "planted event hotspots")
	fs.StringVar(&out, "out", ".", "directory for output files (the hotspot truth file)")
	fs.StringVar(&o.TruthPath, "truth", "", "hotspot ground-truth JSON file (default <out>/hotspots_truth.json)")
	fs.BoolVar(&o.Replace, "replace", false, "replace an earlier generated city instead of refusing")
	keep := fs.Bool("keep", false, "keep an earlier generated city and bring its events up to --end instead of refusing (make demo)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), genUsage)
		fs.PrintDefaults()
	}
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if err := unexpectedArgs(fs); err != nil {
		return err
	}
	o.Seed = seed
	if end != "" {
		t, err := parseInstant(end)
		if err != nil {
			return usageError{msg: fmt.Sprintf("--end %q: %v", end, err)}
		}
		o.End = t
	}
	o.Now = m.Config.clock
	if o.TruthPath == "" {
		o.TruthPath = filepath.Join(out, "hotspots_truth.json")
	}
	o.Log = m.Log
	var err error
	if o.DataKey, err = m.dataKey(); err != nil {
		return err
	}
	db, err := m.openDB(ctx, true)
	if err != nil {
		return err
	}
	if *keep && !o.Replace {
		cs, err := citygen.CatchUp(ctx, db, citygen.CatchUpOptions{End: o.End, Now: o.Now, TruthPath: o.TruthPath, Log: m.Log})
		if err == nil {
			printCatchUp(m, cs)
			return nil
		}
		if !errors.Is(err, citygen.ErrNoCity) {
			return err
		}
	}
	sum, err := citygen.Generate(ctx, db, o)
	if *keep && errors.Is(err, citygen.ErrExists) {
		// Rows of a city that CatchUp cannot read (no households or events).
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

// printCatchUp says what gen --keep did to a city that existed.
func printCatchUp(m *Main, s citygen.CatchUpSummary) {
	const layout = "2006-01-02 15:04:05"
	if !s.To.After(s.From) {
		fmt.Fprintf(m.Stdout, "a generated city exists and its events are up to date (to %s China time): kept (use --replace to regenerate)\n", s.From.In(clock.China).Format(layout))
		return
	}
	fmt.Fprintf(m.Stdout, "a generated city exists: kept and brought up to date, %s – %s China time:\n", s.From.In(clock.China).Format(layout), s.To.In(clock.China).Format(layout))
	fmt.Fprintf(m.Stdout, "  %d events added (%d in the planted hotspots); of the earlier events %d closed and %d moved on; %.1f s\n",
		s.Events, s.HotspotEvents, s.Closed, s.Advanced, s.Seconds)
	if s.Inferred {
		fmt.Fprintln(m.Stdout, "  (the city was generated before onegrid recorded its model: the model was inferred from its rows)")
	}
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

// parseInstant reads an RFC 3339 time or a date (midnight, China time), as --now does.
func parseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, clock.China); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("want a date (2026-11-01, midnight China time) or an RFC 3339 time (2026-11-01T08:00:00+08:00)")
}

const genUsage = `usage: onegrid gen [flags]

Generate a synthetic Shenzhen-like city into the database: districts, streets,
communities, grids, micro-grids, buildings, addresses, households and a period
of events ending now (--end), with planted hotspots. With --keep, a city
generated earlier is kept and brought up to date instead.

flags:
`
