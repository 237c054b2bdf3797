package tiles

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

func TestParseFilter(t *testing.T) {
	for _, tc := range []struct {
		name, q string
		key     string
		param   string
	}{
		{"empty", "", "", ""},
		{"day in China time, to inclusive", "from=2025-01-01&to=2025-01-31", "from=2024-12-31T16:00:00Z;to=2025-01-31T16:00:00Z;category=;status=", ""},
		{"rfc3339", "from=2025-01-01T08:00:00%2B08:00", "from=2025-01-01T00:00:00Z;;category=;status=", ""},
		{"status normalised", "status=handling,reported,handling", ";;category=;status=handling,reported", ""},
		{"category", "category=0101", ";;category=0101;status=", ""},
		{"other params ignored", "v=3", "", ""},
		{"bad from", "from=2025-1-1", "", "from"},
		{"bad to", "to=tomorrow", "", "to"},
		{"inverted", "from=2025-02-01&to=2025-01-01", "", "to"},
		{"bad status", "status=open", "", "status"},
		{"empty status item", "status=reported,", "", "status"},
		{"bad category", "category=01%25", "", "category"},
		{"long category", "category=0123456789012345678901234567890123", "", "category"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.q)
			f, err := ParseFilter(q)
			var fe *FilterError
			if tc.param != "" {
				if !errors.As(err, &fe) || fe.Param != tc.param {
					t.Fatalf("error %v, want one naming %s", err, tc.param)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Key() != tc.key {
				t.Errorf("key %q, want %q", f.Key(), tc.key)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "from=2025-01-01", "to=2025-01-01T00:00:00Z&status=reported,closed", "category=01&status=x", "from=9999-12-31"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		flt, err := ParseFilter(q)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) || fe.Param == "" {
				t.Fatalf("error %v is not a FilterError naming a parameter", err)
			}
			return
		}
		if !flt.From.IsZero() && !flt.To.IsZero() && !flt.From.Before(flt.To) {
			t.Fatalf("from %v not before to %v", flt.From, flt.To)
		}
		if flt.From.Location() != time.UTC && !flt.From.IsZero() {
			t.Fatalf("from not normalised to UTC")
		}
		// The key is a normal form: parsing the filter's own query gives the same key.
		if flt.Key() == "" != flt.IsZero() {
			t.Fatalf("key %q for zero=%v", flt.Key(), flt.IsZero())
		}
	})
}
