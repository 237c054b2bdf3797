package query

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/event"
)

// ParamError is bad input: the parameter at fault and what is wrong with it.
// Its message is safe to show to a client.
type ParamError struct {
	Param   string
	Problem string
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Problem }

func paramErr(param, format string, args ...any) *ParamError {
	return &ParamError{Param: param, Problem: fmt.Sprintf(format, args...)}
}

// IsParamError reports whether err is (or wraps) a *ParamError.
func IsParamError(err error) bool {
	var pe *ParamError
	return errors.As(err, &pe)
}

// ParseFloat parses a finite decimal number.
func ParseFloat(param, s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, paramErr(param, "required")
	}
	if len(s) > 32 {
		return 0, paramErr(param, "too long")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, paramErr(param, "not a number: %q", s)
	}
	return f, nil
}

// ParseLon parses a longitude in degrees (-180..180).
func ParseLon(param, s string) (float64, error) {
	f, err := ParseFloat(param, s)
	if err != nil {
		return 0, err
	}
	if f < -180 || f > 180 {
		return 0, paramErr(param, "longitude %g out of range -180..180", f)
	}
	return f, nil
}

// ParseLat parses a latitude in degrees (-90..90).
func ParseLat(param, s string) (float64, error) {
	f, err := ParseFloat(param, s)
	if err != nil {
		return 0, err
	}
	if f < -90 || f > 90 {
		return 0, paramErr(param, "latitude %g out of range -90..90", f)
	}
	return f, nil
}

// ParseInt parses an integer in lo..hi; empty gives def.
func ParseInt(param, s string, def, lo, hi int) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	if len(s) > 12 {
		return 0, paramErr(param, "must be an integer in %d..%d", lo, hi)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, paramErr(param, "must be an integer in %d..%d", lo, hi)
	}
	return n, nil
}

// ParseRadius parses a radius in metres in (0, max]; empty gives def.
func ParseRadius(param, s string, def, max float64) (float64, error) {
	if strings.TrimSpace(s) == "" {
		return def, nil
	}
	f, err := ParseFloat(param, s)
	if err != nil {
		return 0, err
	}
	if f <= 0 || f > max {
		return 0, paramErr(param, "must be metres in (0, %g]", max)
	}
	return f, nil
}

// BBox is a WGS-84 bounding box in degrees.
type BBox struct {
	MinLon, MinLat, MaxLon, MaxLat float64
}

// ParseBBox parses "minlon,minlat,maxlon,maxlat" (OGC order). Boxes crossing the
// antimeridian are refused: nothing onegrid serves lies near it.
func ParseBBox(param, s string) (BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		if len(parts) == 6 {
			return BBox{}, paramErr(param, "3D boxes are not supported; give minlon,minlat,maxlon,maxlat")
		}
		return BBox{}, paramErr(param, "want 4 numbers minlon,minlat,maxlon,maxlat")
	}
	var v [4]float64
	for i, p := range parts {
		var err error
		if i%2 == 0 {
			v[i], err = ParseLon(param, p)
		} else {
			v[i], err = ParseLat(param, p)
		}
		if err != nil {
			return BBox{}, err
		}
	}
	b := BBox{v[0], v[1], v[2], v[3]}
	if b.MinLon > b.MaxLon {
		return BBox{}, paramErr(param, "minlon %g > maxlon %g (boxes across the antimeridian are not supported)", b.MinLon, b.MaxLon)
	}
	if b.MinLat > b.MaxLat {
		return BBox{}, paramErr(param, "minlat %g > maxlat %g", b.MinLat, b.MaxLat)
	}
	return b, nil
}

// ParseTime parses an RFC 3339 instant (a date alone means its midnight in
// China Standard Time, UTC+8).
func ParseTime(param, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return time.Time{}, paramErr(param, "too long")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.Year() < 1900 || t.Year() > 2200 {
			return time.Time{}, paramErr(param, "year %d out of range 1900..2200", t.Year())
		}
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, clock.China); err == nil {
		if t.Year() < 1900 || t.Year() > 2200 {
			return time.Time{}, paramErr(param, "year %d out of range 1900..2200", t.Year())
		}
		return t, nil
	}
	return time.Time{}, paramErr(param, "not an RFC 3339 time (2026-01-31T08:00:00+08:00) or date (2026-01-31): %q", s)
}

// Window is a half-open time interval [From, To); a zero end is open.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// IsZero reports whether neither end is set.
func (w Window) IsZero() bool { return w.From.IsZero() && w.To.IsZero() }

// OrLast fills the ends a request left open: a missing end is now (the clock's
// reading, never the machine's), a missing start is span before the end. It is
// the one definition of "the last N days" behind every default window.
func (w Window) OrLast(now time.Time, span time.Duration) Window {
	if w.To.IsZero() {
		w.To = now
	}
	if w.From.IsZero() {
		w.From = w.To.Add(-span)
	}
	return w
}

// ParseWindow parses from and to (either may be empty) and checks from < to.
func ParseWindow(fromParam, from, toParam, to string) (Window, error) {
	var w Window
	var err error
	if strings.TrimSpace(from) != "" {
		if w.From, err = ParseTime(fromParam, from); err != nil {
			return Window{}, err
		}
	}
	if strings.TrimSpace(to) != "" {
		if w.To, err = ParseTime(toParam, to); err != nil {
			return Window{}, err
		}
	}
	if !w.From.IsZero() && !w.To.IsZero() && !w.From.Before(w.To) {
		return Window{}, paramErr(toParam, "must be after %s (%s); the window is reversed or empty", fromParam, w.From.Format(time.RFC3339))
	}
	return w, nil
}

// ParseDatetime parses the OGC datetime parameter: an instant, or an interval
// "start/end" where either end may be ".." or empty (open). An instant t becomes
// the closed window [t, t]; intervals are treated as [start, end].
func ParseDatetime(param, s string) (w Window, instant bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Window{}, false, nil
	}
	a, b, isInterval := strings.Cut(s, "/")
	if !isInterval {
		t, err := ParseTime(param, s)
		if err != nil {
			return Window{}, false, err
		}
		return Window{From: t, To: t}, true, nil
	}
	if strings.Contains(b, "/") {
		return Window{}, false, paramErr(param, "want an instant or start/end")
	}
	if a != "" && a != ".." {
		if w.From, err = ParseTime(param, a); err != nil {
			return Window{}, false, err
		}
	}
	if b != "" && b != ".." {
		if w.To, err = ParseTime(param, b); err != nil {
			return Window{}, false, err
		}
	}
	if w.IsZero() {
		return Window{}, false, paramErr(param, "an interval needs at least one end")
	}
	if !w.From.IsZero() && !w.To.IsZero() && w.To.Before(w.From) {
		return Window{}, false, paramErr(param, "interval end is before its start")
	}
	return w, false, nil
}

// ParseCode checks a standard code (admin, grid or category): 1..32 letters or
// digits, so it can be used as a LIKE prefix without escaping.
func ParseCode(param, s string) (string, error) {
	if s == "" {
		return "", paramErr(param, "required")
	}
	if len(s) > 32 {
		return "", paramErr(param, "too long (at most 32 characters)")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '.') {
			return "", paramErr(param, "must be letters, digits, '-' or '.': %q", s)
		}
	}
	return s, nil
}

// ParseEnumList parses a comma-separated list of values, each of which must be in allowed.
func ParseEnumList(param, s string, allowed []string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		if !contains(allowed, v) {
			return nil, paramErr(param, "unknown value %q; want one of %s", truncate(v, 40), strings.Join(allowed, ", "))
		}
		if !contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// The enumerations of the event table (the event package's) and the grid levels.
var (
	Severities = event.Severities
	Statuses   = event.Statuses
	Sources    = event.Sources
	GridLevels = []string{"street", "community", "grid", "micro_grid"}
)

// Cursor is a keyset position: the last key returned and a fingerprint of the
// query it belongs to, so a cursor cannot be replayed against other filters.
type Cursor struct {
	After string
	Query uint32
}

// Encode returns the cursor's opaque form.
func (c Cursor) Encode() string {
	b := make([]byte, 4, 4+len(c.After))
	binary.BigEndian.PutUint32(b, c.Query)
	b = append(b, c.After...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes an opaque cursor and checks it belongs to the query with fingerprint fp.
func ParseCursor(param, s string, fp uint32) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	if len(s) > 200 {
		return Cursor{}, paramErr(param, "not a cursor from this API")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 5 {
		return Cursor{}, paramErr(param, "not a cursor from this API")
	}
	c := Cursor{Query: binary.BigEndian.Uint32(b), After: string(b[4:])}
	if c.Query != fp {
		return Cursor{}, paramErr(param, "belongs to a different query; repeat the request that returned it with the same filters")
	}
	return c, nil
}

// Fingerprint hashes the parts that define a query (filters, not the page).
func Fingerprint(parts ...string) uint32 {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum32()
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
