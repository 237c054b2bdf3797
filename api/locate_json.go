package api

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	qry "github.com/onegrid/onegrid/query"
)

// Locate is the busiest endpoint (thousands of requests a second), and
// encoding/json's reflection was about a tenth of its Go CPU time. appendLocation
// writes the same bytes as encoding/json (SetEscapeHTML(false), trailing
// newline) by hand; TestLocationJSON holds it to that.

var locateBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeLocation writes loc as writeJSON would.
func writeLocation(w http.ResponseWriter, loc *qry.Location) {
	bp := locateBufs.Get().(*[]byte)
	b := appendLocation((*bp)[:0], loc)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	*bp = b
	locateBufs.Put(bp)
}

func appendLocation(b []byte, loc *qry.Location) []byte {
	b = append(b, `{"lon":`...)
	b = appendFloat(b, loc.Lon)
	b = append(b, `,"lat":`...)
	b = appendFloat(b, loc.Lat)
	b = append(b, `,"at":`...)
	b = appendTime(b, loc.At)
	for _, u := range []struct {
		name string
		u    *qry.Unit
	}{{`,"district":`, loc.District}, {`,"street":`, loc.Street}, {`,"community":`, loc.Community}, {`,"grid":`, loc.Grid}, {`,"micro_grid":`, loc.MicroGrid}} {
		b = append(b, u.name...)
		b = appendUnit(b, u.u)
	}
	b = append(b, `,"nearest_address":`...)
	if a := loc.Address; a == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, a.ID, 10)
		b = append(b, `,"text":`...)
		b = appendString(b, a.Text)
		b = append(b, `,"distance_m":`...)
		b = appendFloat(b, a.DistanceM)
		b = append(b, '}')
	}
	b = append(b, `,"radius_m":`...)
	b = appendFloat(b, loc.RadiusM)
	b = append(b, `,"h3":`...)
	if loc.H3 == nil {
		b = append(b, "null"...)
	} else {
		keys := make([]string, 0, 8)
		for k := range loc.H3 {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, loc.H3[k])
		}
		b = append(b, '}')
	}
	if loc.Note != "" {
		b = append(b, `,"note":`...)
		b = appendString(b, loc.Note)
	}
	return append(b, "}\n"...)
}

func appendUnit(b []byte, u *qry.Unit) []byte {
	if u == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"code":`...)
	b = appendString(b, u.Code)
	b = append(b, `,"name":`...)
	b = appendString(b, u.Name)
	if u.Version != nil {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(*u.Version), 10)
	}
	if u.ValidFrom != nil {
		b = append(b, `,"valid_from":`...)
		b = appendTime(b, u.ValidFrom)
	}
	if u.ValidTo != nil {
		b = append(b, `,"valid_to":`...)
		b = appendTime(b, u.ValidTo)
	}
	return append(b, '}')
}

// appendFloat formats like encoding/json: shortest repr, exponent form outside [1e-6, 1e21).
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...) // encoding/json fails; Locate never produces these
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		v, _ := json.Marshal(f)
		return append(b, v...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

func appendTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	v, err := t.MarshalJSON()
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, v...)
}

// appendString quotes s as encoding/json does without HTML escaping; strings
// needing escapes (rare: control characters, quotes, backslashes, U+2028/9,
// invalid UTF-8) go through encoding/json itself.
func appendString(b []byte, s string) []byte {
	plain := utf8.ValidString(s)
	for i := 0; plain && i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == 0xe2 {
			plain = false
		}
	}
	if !plain {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
