package ingest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are tried in order for values without an explicit offset; they are
// read in the load's time zone.
var timeLayouts = []string{
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006/01/02 15:04:05",
	"2006/01/02 15:04",
	"01/02/2006 03:04:05 PM",
	"01/02/2006 15:04:05",
	"2006-01-02",
	"2006/01/02",
}

// Earliest and latest times a loader accepts: anything outside is a typo.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ParseTime reads a timestamp: RFC 3339 (with offset), or one of the common
// local layouts ("2006-01-02 15:04:05", "2006/01/02 15:04", "01/02/2006 03:04:05 PM",
// a date alone, …) in loc, or Unix seconds. Years outside 1900–2199 are refused.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if loc == nil {
		loc = time.UTC
	}
	t, err := parseTimeAny(s, loc)
	if err != nil {
		return time.Time{}, err
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return time.Time{}, fmt.Errorf("time %q out of range 1900..2199", s)
	}
	return t, nil
}

func parseTimeAny(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02 15:04:05Z07:00", s); err == nil {
		return t, nil
	}
	// PostgreSQL's own text form of a timestamptz: "2023-01-01 00:00:00+00".
	if t, err := time.Parse("2006-01-02 15:04:05.999999999Z07", s); err == nil {
		return t, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && len(s) >= 9 && len(s) <= 10 {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, fmt.Errorf("bad time %q: want e.g. 2006-01-02 15:04:05 or RFC 3339", s)
}

// parseTimeLayout reads s with layout first (a Go reference layout; times
// without an offset in loc), then as ParseTime does.
func parseTimeLayout(s, layout string, loc *time.Location) (time.Time, error) {
	if layout == "" {
		return ParseTime(s, loc)
	}
	if loc == nil {
		loc = time.UTC
	}
	t, err := time.ParseInLocation(layout, strings.TrimSpace(s), loc)
	if err != nil {
		if t2, err2 := ParseTime(s, loc); err2 == nil {
			return t2, nil
		}
		return time.Time{}, fmt.Errorf("bad time %q: want the layout %q", s, layout)
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return time.Time{}, fmt.Errorf("time %q out of range 1900..2199", s)
	}
	return t, nil
}
