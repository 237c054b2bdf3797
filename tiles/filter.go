package tiles

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/onegrid/onegrid/clock"
)

// Statuses are the event statuses a status filter may name.
var Statuses = []string{"reported", "dispatched", "handling", "resolved", "closed", "cancelled"}

// openStatuses are the statuses counted as open (schema 0200's tile_open_status).
var openStatuses = []string{"reported", "dispatched", "handling"}

// Filter narrows the event layers. The zero Filter selects every event.
type Filter struct {
	From, To time.Time // reported_at in [From, To); zero = open-ended
	Category string    // category code prefix, any taxonomy level; "" = all
	Status   []string  // sorted, distinct; nil = all
}

// FilterError reports a bad filter parameter; its message is safe for clients.
type FilterError struct {
	Param   string
	Problem string
}

func (e *FilterError) Error() string { return e.Param + ": " + e.Problem }

// maxCategoryLen bounds a category prefix; taxonomy codes are short.
const maxCategoryLen = 32

// ParseFilter reads from, to, category and status from a query string. from and to
// are RFC 3339 instants or YYYY-MM-DD days in China time (to includes its whole
// day); category is a code prefix of letters, digits, '.', '-' and '_'; status is a
// comma-separated list of Statuses. Other parameters are ignored.
func ParseFilter(q url.Values) (Filter, error) {
	var f Filter
	var err error
	if f.From, err = parseTime("from", q.Get("from"), false); err != nil {
		return Filter{}, err
	}
	if f.To, err = parseTime("to", q.Get("to"), true); err != nil {
		return Filter{}, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return Filter{}, &FilterError{"to", "must be after from"}
	}
	if c := q.Get("category"); c != "" {
		if len(c) > maxCategoryLen {
			return Filter{}, &FilterError{"category", fmt.Sprintf("longer than %d characters", maxCategoryLen)}
		}
		for _, r := range c {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '-' || r == '_') {
				return Filter{}, &FilterError{"category", "must be a category code prefix (letters, digits, '.', '-', '_')"}
			}
		}
		f.Category = c
	}
	if s := q.Get("status"); s != "" {
		for _, v := range strings.Split(s, ",") {
			v = strings.TrimSpace(v)
			if !slices.Contains(Statuses, v) {
				if len(v) > 32 {
					v = v[:32] + "…"
				}
				return Filter{}, &FilterError{"status", fmt.Sprintf("unknown status %q; use a comma-separated list of %s", v, strings.Join(Statuses, ", "))}
			}
			if !slices.Contains(f.Status, v) {
				f.Status = append(f.Status, v)
			}
		}
		slices.Sort(f.Status)
	}
	return f, nil
}

func parseTime(param, s string, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) == len("2006-01-02") {
		d, err := time.ParseInLocation("2006-01-02", s, clock.China)
		if err != nil {
			return time.Time{}, &FilterError{param, "must be an RFC 3339 time or a YYYY-MM-DD date"}
		}
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, &FilterError{param, "must be an RFC 3339 time or a YYYY-MM-DD date"}
	}
	if t.Year() < 1900 || t.Year() > 9999 {
		return time.Time{}, &FilterError{param, "year out of range 1900..9999"}
	}
	return t.UTC(), nil
}

// IsZero reports whether the filter selects every event.
func (f Filter) IsZero() bool {
	return f.From.IsZero() && f.To.IsZero() && f.Category == "" && len(f.Status) == 0
}

// Key is the filter in a normal form, for cache keys: equal filters have equal keys.
func (f Filter) Key() string {
	if f.IsZero() {
		return ""
	}
	var b strings.Builder
	if !f.From.IsZero() {
		b.WriteString("from=" + f.From.Format(time.RFC3339Nano))
	}
	b.WriteString(";")
	if !f.To.IsZero() {
		b.WriteString("to=" + f.To.Format(time.RFC3339Nano))
	}
	b.WriteString(";category=" + f.Category + ";status=" + strings.Join(f.Status, ","))
	return b.String()
}

// args returns the filter as SQL parameters: from, to, category, status (NULL when unset).
func (f Filter) args() []any {
	var from, to, cat, st any
	if !f.From.IsZero() {
		from = f.From
	}
	if !f.To.IsZero() {
		to = f.To
	}
	if f.Category != "" {
		cat = f.Category
	}
	if len(f.Status) > 0 {
		st = f.Status
	}
	return []any{from, to, cat, st}
}
