package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onegrid/onegrid/seal"
)

// stageCol is a column of a staging table.
type stageCol struct{ name, pgType string }

// convCtx is what value conversion needs from the load's options.
type convCtx struct {
	loc     *time.Location
	hashKey []byte
	layout  string    // a Go time layout tried first ("" = none)
	dataKey *seal.Key // seals clear personal values (nil: none kept)
}

// field is one loader field: where it goes in the staging table and how its text
// becomes those columns' values. conv writes them into dst (one per column) rather
// than returning a slice: a row's dozen fields cost no allocation of their own.
type field struct {
	name     string
	required bool
	def      string // used when the value is absent; "" = NULL
	cols     []stageCol
	conv     func(c *convCtx, s string, dst []any) error
}

func textField(name string, required bool) field {
	return field{name: name, required: required, cols: []stageCol{{name, "text"}},
		conv: func(_ *convCtx, s string, dst []any) error {
			if !utf8.ValidString(s) {
				return fmt.Errorf("not valid UTF-8")
			}
			if strings.IndexByte(s, 0) >= 0 {
				return fmt.Errorf("contains a NUL byte")
			}
			dst[0] = s
			return nil
		}}
}

func intField(name string, required bool, lo, hi int64) field {
	return field{name: name, required: required, cols: []stageCol{{name, "bigint"}},
		conv: func(_ *convCtx, s string, dst []any) error {
			n, err := strconv.ParseInt(strings.TrimSuffix(s, ".0"), 10, 64)
			if err != nil {
				return fmt.Errorf("bad integer %q", s)
			}
			if n < lo || n > hi {
				return fmt.Errorf("%d out of range %d..%d", n, lo, hi)
			}
			dst[0] = n
			return nil
		}}
}

func timeField(name string, required bool) field {
	return field{name: name, required: required, cols: []stageCol{{name, "timestamptz"}},
		conv: func(c *convCtx, s string, dst []any) error {
			t, err := parseTimeLayout(s, c.layout, c.loc)
			if err != nil {
				return err
			}
			dst[0] = t
			return nil
		}}
}

// enumField accepts the keys of values (case-insensitive) and stores their value.
func enumField(name string, required bool, def string, values map[string]string) field {
	// The values boxed once: storing a string in a row's []any allocates.
	boxed := make(map[string]any, len(values))
	for k, v := range values {
		boxed[k] = v
	}
	return field{name: name, required: required, def: def, cols: []stageCol{{name, "text"}},
		conv: func(_ *convCtx, s string, dst []any) error {
			if v, ok := boxed[strings.ToLower(strings.TrimSpace(s))]; ok {
				dst[0] = v
				return nil
			}
			seen := map[string]bool{}
			var want []string
			for _, v := range values {
				if !seen[v] {
					seen[v] = true
					want = append(want, v)
				}
			}
			return fmt.Errorf("unknown value %q: want one of %s", s, strings.Join(sortedStrings(want), ", "))
		}}
}

func tagsField(name string) field {
	return field{name: name, cols: []stageCol{{name, "text[]"}},
		conv: func(_ *convCtx, s string, dst []any) error {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				return fmt.Errorf("not valid UTF-8 text")
			}
			parts := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '|' || r == ',' || r == '，' || r == '、' })
			tags := make([]string, 0, len(parts))
			for _, p := range parts {
				if p = strings.TrimSpace(p); p != "" {
					tags = append(tags, p)
				}
			}
			dst[0] = tags
			return nil
		}}
}

// personalField stores personal data masked and, when hashed, as a keyed
// HMAC-SHA-256 of its normalised form (so rolls can be joined without clear
// text); with a data key, also the clear value sealed (household_personal),
// which never reaches the database unsealed.
func personalField(name string, hashed bool, mask func(string) string) field {
	cols := []stageCol{{name + "_masked", "text"}}
	if hashed {
		cols = append(cols, stageCol{name + "_hash", "bytea"})
	}
	cols = append(cols, stageCol{name + "_sealed", "bytea"})
	return field{name: name, cols: cols,
		conv: func(c *convCtx, s string, dst []any) error {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				return fmt.Errorf("not valid UTF-8 text")
			}
			if c.dataKey != nil {
				dst[len(cols)-1] = c.dataKey.Seal(name, strings.TrimSpace(s))
			} else {
				dst[len(cols)-1] = nil
			}
			s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
			dst[0] = mask(s)
			if hashed {
				if len(c.hashKey) == 0 {
					dst[1] = nil
				} else {
					h := hmac.New(sha256.New, c.hashKey)
					h.Write([]byte(s))
					dst[1] = h.Sum(nil)
				}
			}
			return nil
		}}
}

// MaskPhone keeps the first 3 and last 4 digits: 13812345678 → 138****5678.
func MaskPhone(s string) string { return maskMiddle(s, 3, 4) }

// MaskIDNo keeps the first 6 and last 4 characters of an ID number.
func MaskIDNo(s string) string { return maskMiddle(s, 6, 4) }

// MaskName keeps the first character of a name: 张三丰 → 张**.
func MaskName(s string) string {
	r := []rune(s)
	if len(r) <= 1 {
		return "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}

func maskMiddle(s string, head, tail int) string {
	r := []rune(s)
	if len(r) <= head+tail {
		if len(r) <= 1 {
			return "*"
		}
		return string(r[0]) + strings.Repeat("*", len(r)-1)
	}
	return string(r[:head]) + strings.Repeat("*", len(r)-head-tail) + string(r[len(r)-tail:])
}

func sortedStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}
