package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/hotspot"
)

func init() { commands["hotspots"] = runHotspots }

// runHotspots runs one hotspot analysis and prints a summary table (or JSON),
// or with --standard computes and stores the standard set once.
func runHotspots(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("hotspots", flag.ContinueOnError)
	area := fs.String("area", "", "admin or grid code (default: the whole city)")
	category := fs.String("category", "", "event category code, sub-categories included (default: all)")
	res := fs.Int("res", 9, "H3 resolution, 5..11")
	k := fs.Int("k", 1, "neighbourhood radius in rings, 1..5")
	days := fs.Int("days", 30, "window length in days, ending at --to (ignored with --from)")
	fromS := fs.String("from", "", "window start, RFC 3339 or YYYY-MM-DD (UTC)")
	toS := fs.String("to", "", "window end (exclusive), RFC 3339 or YYYY-MM-DD (UTC); default now")
	by := fs.String("by", "count", "count, or rate (events per 1,000 households)")
	smooth := fs.String("smooth", "", "eb: empirical-Bayes smoothed rates (with --by rate)")
	top := fs.Int("top", 10, "list this many hottest cells")
	asJSON := fs.Bool("json", false, "print the whole result as JSON")
	store := fs.Bool("store", false, "store the result as a run (and raise alerts against the previous run)")
	standard := fs.Bool("standard", false, "compute and store the standard set once (every street and the city, last 30 days, res 9, k 1)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: onegrid hotspots [flags]\n\nGetis-Ord Gi* hot spots of events over H3 cells.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if err := unexpectedArgs(fs); err != nil {
		return err
	}
	db, err := m.openDB(ctx, true)
	if err != nil {
		return err
	}
	svc := hotspot.New(db, hotspot.Config{Log: m.Log, Now: m.Config.clock, MinCount: m.Config.MinCount})

	if *standard {
		rep, err := svc.RunStandard(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(m.Stdout).Encode(rep)
		}
		fmt.Fprintf(m.Stdout, "standard set %s – %s: %d runs (%d nothing to find), %d alerts, %v\n",
			rep.From.Format(time.RFC3339), rep.To.Format(time.RFC3339), rep.Runs, rep.Nothing, len(rep.Alerts), rep.Took.Round(time.Millisecond))
		for _, a := range rep.Alerts {
			fmt.Fprintf(m.Stdout, "  alert %-12s cell %s area %q category %q z %.2f\n", a.Kind, a.CellHex, a.Area, a.Category, a.Z)
		}
		return nil
	}

	p := hotspot.Params{Area: *area, Category: *category, Res: *res, K: *k, By: *by, Smooth: *smooth}
	p.To = m.Config.clock()
	if *toS != "" {
		if p.To, err = parseTime(*toS); err != nil {
			return usageError{msg: "--to: " + err.Error()}
		}
	}
	p.From = p.To.AddDate(0, 0, -*days)
	if *fromS != "" {
		if p.From, err = parseTime(*fromS); err != nil {
			return usageError{msg: "--from: " + err.Error()}
		}
	}
	start := time.Now()
	r, err := svc.Analyze(ctx, p)
	var pe *hotspot.ParamError
	if errors.As(err, &pe) {
		return usageError{msg: "--" + pe.Param + ": " + pe.Problem}
	}
	if err != nil {
		return err
	}
	took := time.Since(start)
	if *store {
		if _, err := svc.Store(ctx, r, false); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printHotspots(m, r, *top, took)
	return nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

func printHotspots(m *Main, r *hotspot.Result, top int, took time.Duration) {
	p, s := r.Params, r.Summary
	name := r.Area.Name
	if r.Area.Code != "" {
		name = r.Area.Code + " " + name
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "area\t%s (%s)\n", name, r.Area.Level)
	fmt.Fprintf(tw, "window\t%s – %s\n", p.From.Format(time.RFC3339), p.To.Format(time.RFC3339))
	fmt.Fprintf(tw, "category\t%s\n", cmp.Or(p.Category, "all"))
	fmt.Fprintf(tw, "cells\t%d at res %d, k %d, by %s %s\n", s.Cells, p.Res, p.K, p.By, p.Smooth)
	fmt.Fprintf(tw, "events\t%d (%d outside the study area)\n", s.Events, s.Dropped)
	fmt.Fprintf(tw, "status\t%s %s\n", r.Status, r.Reason)
	if r.Status == hotspot.StatusOK {
		fmt.Fprintf(tw, "hot cells\t99%%: %d  95%%: %d  90%%: %d\n", s.Hot.P99, s.Hot.P95, s.Hot.P90)
		fmt.Fprintf(tw, "hot cells (FDR)\t99%%: %d  95%%: %d  90%%: %d\n", s.HotFDR.P99, s.HotFDR.P95, s.HotFDR.P90)
		fmt.Fprintf(tw, "cold cells (FDR)\t99%%: %d  95%%: %d  90%%: %d\n", s.ColdFDR.P99, s.ColdFDR.P95, s.ColdFDR.P90)
		if s.Note != "" {
			fmt.Fprintf(tw, "note\t%s\n", s.Note)
		}
	}
	fmt.Fprintf(tw, "took\t%v\n", took.Round(time.Millisecond))
	tw.Flush()
	if r.Status != hotspot.StatusOK || top <= 0 {
		return
	}
	cells := slices.Clone(r.Cells)
	slices.SortFunc(cells, func(a, b hotspot.Cell) int { return cmp.Compare(b.Z, a.Z) })
	fmt.Fprintln(m.Stdout)
	tw = tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cell\tcount\tvalue\tz\tp\tbin\tbin_fdr\t")
	for _, c := range cells[:min(top, len(cells))] {
		fmt.Fprintf(tw, "%s\t%d\t%.3g\t%.2f\t%.2g\t%d\t%d\t\n", geo.CellString(c.Cell), c.Count, c.Value, c.Z, c.P, c.Bin, c.BinFDR)
	}
	tw.Flush()
}
