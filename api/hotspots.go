package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/hotspot"
)

// Hotspot endpoints:
//
//	GET /api/v1/hotspots           one analysis computed now
//	GET /api/v1/hotspots/emerging  emerging hot spot patterns over time slices
//	GET /api/v1/hotspots/latest    the latest stored standard run (instant)
//	GET /api/v1/hotspots/alerts    alerts raised by stored runs

// query reads and validates query parameters, remembering the first problem.
type query struct {
	v   url.Values
	err error
}

func newQuery(r *http.Request, allowed ...string) *query {
	q := &query{v: r.URL.Query()}
	for name, vals := range q.v {
		switch {
		case !containsString(allowed, name):
			q.fail(name, "unknown parameter (allowed: "+strings.Join(allowed, ", ")+")")
		case len(vals) > 1:
			q.fail(name, "given more than once")
		}
	}
	return q
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (q *query) fail(param, problem string) {
	if q.err == nil {
		q.err = BadRequest(param, problem)
	}
}

func (q *query) str(name, def string) string {
	if v := q.v.Get(name); v != "" {
		return v
	}
	return def
}

func (q *query) oneOf(name, def string, allowed ...string) string {
	v := q.str(name, def)
	if !containsString(allowed, v) {
		q.fail(name, "must be one of "+strings.Join(allowed, ", "))
	}
	return v
}

func (q *query) int(name string, def, lo, hi int) int {
	s := q.v.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		q.fail(name, "must be an integer "+strconv.Itoa(lo)+".."+strconv.Itoa(hi))
		return def
	}
	return n
}

func (q *query) bool(name string, def bool) bool {
	s := q.v.Get(name)
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.fail(name, "must be true or false")
		return def
	}
	return b
}

// time reads an RFC 3339 time or a date (midnight in China Standard Time).
func (q *query) time(name string, def time.Time) time.Time {
	s := q.v.Get(name)
	if s == "" {
		return def
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, clock.China); err == nil {
		return t
	}
	q.fail(name, "must be an RFC 3339 time (2026-10-01T08:00:00+08:00) or a date (2026-10-01)")
	return def
}

// hotspotError maps the domain's errors to what the client sees.
func hotspotError(err error) error {
	var pe *hotspot.ParamError
	if errors.As(err, &pe) {
		return BadRequest(pe.Param, pe.Problem)
	}
	if errors.Is(err, hotspot.ErrNoRun) {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no stored hotspot run for this area and category yet; the standard set runs on a schedule"}
	}
	return err
}

// handleHotspots runs one analysis:
//
//	res=5..11 (9) k=1..5 (1) from, to (the 30 days before to; now) category area
//	by=count|rate (count) smooth=eb (rate only) fdr=true|false (true) format=json|geojson
func (s *Server) handleHotspots(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "res", "k", "from", "to", "category", "area", "by", "smooth", "fdr", "format")
	p := hotspot.Params{
		Res:      q.int("res", 9, hotspot.MinRes, hotspot.MaxRes),
		K:        q.int("k", 1, hotspot.MinK, hotspot.MaxK),
		Category: q.str("category", ""),
		Area:     q.str("area", ""),
		By:       q.oneOf("by", hotspot.ByCount, hotspot.ByCount, hotspot.ByRate),
		Smooth:   q.oneOf("smooth", "", "", "none", hotspot.SmoothEB),
	}
	if p.Smooth == "none" {
		p.Smooth = ""
	}
	p.To = q.time("to", s.hot.Now())
	p.From = q.time("from", p.To.Add(-hotspot.DefaultWindow))
	fdr := q.bool("fdr", true)
	format := q.oneOf("format", "json", "json", "geojson")
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	var res *hotspot.Result
	err := s.hotspots(r, func(ctx context.Context, h *hotspot.Service) error {
		var err error
		res, err = h.Analyze(ctx, p)
		return err
	})
	if err != nil {
		s.fail(w, r, hotspotError(err))
		return
	}
	s.rows(r, len(res.Cells))
	writeHotspots(w, res, fdr, format)
}

// handleHotspotsLatest serves the latest stored standard run: area (the whole
// city), category (all), fdr, format.
func (s *Server) handleHotspotsLatest(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "area", "category", "fdr", "format")
	area, category := q.str("area", ""), q.str("category", "")
	fdr := q.bool("fdr", true)
	format := q.oneOf("format", "json", "json", "geojson")
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	var res *hotspot.Result
	err := s.hotspots(r, func(ctx context.Context, h *hotspot.Service) error {
		var err error
		res, err = h.Latest(ctx, area, category)
		return err
	})
	if err != nil {
		s.fail(w, r, hotspotError(err))
		return
	}
	s.rows(r, len(res.Cells))
	writeHotspots(w, res, fdr, format)
}

// hotspotCellJSON is one cell in a response.
type hotspotCellJSON struct {
	Cell   string  `json:"cell"`
	Count  int     `json:"count"`
	Value  float64 `json:"value"`
	Z      float64 `json:"z"`
	P      float64 `json:"p"`
	Bin    int8    `json:"bin"`
	BinFDR int8    `json:"bin_fdr"`
	Class  int8    `json:"class"` // bin_fdr, or bin with fdr=false
}

type hotspotParamsJSON struct {
	Area     string    `json:"area"`
	Category string    `json:"category"`
	Res      int       `json:"res"`
	K        int       `json:"k"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	By       string    `json:"by"`
	Smooth   string    `json:"smooth"`
	FDR      bool      `json:"fdr"`
}

type hotspotSummaryJSON struct {
	hotspot.Summary
	// Significant is HotFDR (fdr=true) or Hot: the hot cells the map shows.
	Significant hotspot.Levels `json:"significant_hot"`
}

type hotspotResponse struct {
	Status     string             `json:"status"`
	Reason     string             `json:"reason,omitempty"`
	RunID      int64              `json:"run_id,omitempty"`
	ComputedAt time.Time          `json:"computed_at"`
	Area       hotspot.Area       `json:"area"`
	Params     hotspotParamsJSON  `json:"params"`
	Summary    hotspotSummaryJSON `json:"summary"`
	Cells      []hotspotCellJSON  `json:"cells"`
}

func writeHotspots(w http.ResponseWriter, res *hotspot.Result, fdr bool, format string) {
	p := res.Params
	out := hotspotResponse{
		Status: res.Status, Reason: res.Reason, RunID: res.RunID, ComputedAt: res.ComputedAt, Area: res.Area,
		Params:  hotspotParamsJSON{p.Area, p.Category, p.Res, p.K, p.From, p.To, p.By, p.Smooth, fdr},
		Summary: hotspotSummaryJSON{Summary: res.Summary, Significant: res.Summary.Hot},
		Cells:   make([]hotspotCellJSON, len(res.Cells)),
	}
	if fdr {
		out.Summary.Significant = res.Summary.HotFDR
	}
	for i, c := range res.Cells {
		class := c.Bin
		if fdr {
			class = c.BinFDR
		}
		out.Cells[i] = hotspotCellJSON{geo.CellString(c.Cell), c.Count, c.Value, c.Z, c.P, c.Bin, c.BinFDR, class}
	}
	if format != "geojson" {
		writeJSON(w, http.StatusOK, out)
		return
	}
	fc := geojson.NewFeatureCollection()
	for i, c := range out.Cells {
		f := geojson.NewFeature(orb.Polygon(geo.CellBoundary(res.Cells[i].Cell)))
		f.Properties = geojson.Properties{"cell": c.Cell, "count": c.Count, "value": c.Value, "z": c.Z, "p": c.P,
			"bin": c.Bin, "bin_fdr": c.BinFDR, "class": c.Class}
		fc.Append(f)
	}
	// Foreign members carry the rest of the answer (RFC 7946 section 6.1).
	fc.ExtraMembers = geojson.Properties{"status": out.Status, "area": out.Area, "params": out.Params, "summary": out.Summary, "computed_at": out.ComputedAt}
	if out.Reason != "" {
		fc.ExtraMembers["reason"] = out.Reason
	}
	if out.RunID != 0 {
		fc.ExtraMembers["run_id"] = out.RunID
	}
	w.Header().Set("Content-Type", "application/geo+json")
	b, err := fc.MarshalJSON()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]string{"code": "internal", "message": "internal error"}})
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// handleHotspotsEmerging classifies cells into emerging hot spot patterns:
//
//	res (9) k (1) slice=day|week|month (week) slices=3..60 (8) to (now) category area all=true|false
func (s *Server) handleHotspotsEmerging(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "res", "k", "slice", "slices", "to", "category", "area", "all")
	p := hotspot.EmergingParams{
		Res:      q.int("res", 9, hotspot.MinRes, hotspot.MaxRes),
		K:        q.int("k", 1, hotspot.MinK, hotspot.MaxK),
		Slice:    q.oneOf("slice", "week", "day", "week", "month"),
		Slices:   q.int("slices", 8, hotspot.MinSlices, hotspot.MaxSlices),
		To:       q.time("to", s.hot.Now()),
		Category: q.str("category", ""),
		Area:     q.str("area", ""),
	}
	all := q.bool("all", false)
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	var res *hotspot.EmergingResult
	err := s.hotspots(r, func(ctx context.Context, h *hotspot.Service) error {
		var err error
		res, err = h.Emerging(ctx, p)
		return err
	})
	if err != nil {
		s.fail(w, r, hotspotError(err))
		return
	}
	type cellJSON struct {
		Cell     string  `json:"cell"`
		Category string  `json:"category"`
		TrendZ   float64 `json:"trend_z"`
		TrendP   float64 `json:"trend_p"`
		TrendS   float64 `json:"trend_s"`
		LastZ    float64 `json:"last_z"`
		Counts   []int   `json:"counts"`
	}
	cells := []cellJSON{}
	for _, c := range res.Cells {
		if all || c.Category != "no pattern" {
			cells = append(cells, cellJSON{geo.CellString(c.Cell), c.Category, c.Trend.Z, c.Trend.P, c.Trend.S, c.LastZ, c.Counts})
		}
	}
	s.rows(r, len(cells))
	writeJSON(w, http.StatusOK, map[string]any{
		"status": res.Status, "reason": res.Reason, "area": res.Area,
		"params":       map[string]any{"area": p.Area, "category": p.Category, "res": p.Res, "k": p.K, "slice": p.Slice, "slices": p.Slices, "to": p.To},
		"slice_bounds": res.Bounds, "slice_events": res.SliceEvents, "dropped": res.Dropped,
		"cells_total": res.NCells, "patterns": res.Patterns, "cells": cells,
	})
}

// handleHotspotAlerts lists alerts, newest first: since (24 hours ago), area
// (a code prefix), limit 1..1000 (100).
func (s *Server) handleHotspotAlerts(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "since", "area", "limit")
	since := q.time("since", s.hot.Now().Add(-24*time.Hour))
	area := q.str("area", "")
	limit := q.int("limit", 100, 1, 1000)
	if q.err != nil {
		s.fail(w, r, q.err)
		return
	}
	var alerts []hotspot.Alert
	err := s.hotspots(r, func(ctx context.Context, h *hotspot.Service) error {
		var err error
		alerts, err = h.Alerts(ctx, since, area, limit)
		return err
	})
	if err != nil {
		s.fail(w, r, hotspotError(err))
		return
	}
	if alerts == nil {
		alerts = []hotspot.Alert{}
	}
	s.rows(r, len(alerts))
	writeJSON(w, http.StatusOK, map[string]any{"since": since, "alerts": alerts})
}
