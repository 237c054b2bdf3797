package ingest

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/iotest"
)

// scanWhole is scanValue over a whole document: the value, surrounded by
// optional space, and nothing else. A space is appended so that a number at
// the very end is complete.
func scanWhole(s string) bool {
	b := []byte(s + " ")
	end, st := scanValue(b, skipSpace(b, 0))
	return st == scanOK && skipSpace(b, end) == len(b)
}

func TestScanValue(t *testing.T) {
	for _, s := range []string{
		`{}`, `[]`, `{"a": [1, -0.5e+3, true, false, null, "x\u00e9\n"]}`, `0`, `-0`, `1.5E9`, `"\ud800"`,
		`{"a" 1}`, `{"a": 1,}`, `[1,]`, `01`, `1.`, `.5`, `-`, `1e`, `"\x"`, "\"a\tb\"", `tru`, `nul`, `{"a": 1`,
		`[1 2]`, `{"a": 1}}`, `"\u12g4"`, "\"é\xff\"", strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		if got, want := scanWhole(s), json.Valid([]byte(s)); got != want {
			t.Errorf("scanValue(%.40q) valid = %v, json.Valid = %v", s, got, want)
		}
	}
}

// FuzzScanValue requires scanValue to accept exactly what json.Valid accepts.
func FuzzScanValue(f *testing.F) {
	for _, s := range []string{`{"type": "Feature", "properties": {"a": [1, 2.5e-3, "x\"y"]}, "geometry": null}`,
		`[{"a":{}},[],"\u00e9",-0,true,false,null]`, `{"a":1,}`, `01`, "\"\x01\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := scanWhole(s), json.Valid([]byte(s)); got != want {
			t.Fatalf("scanValue(%q) valid = %v, json.Valid = %v", s, got, want)
		}
	})
}

// TestSplitterSmallReads cuts features out of a stream that arrives a byte at
// a time: every element whole and in order, objects known valid, others not.
func TestSplitterSmallReads(t *testing.T) {
	in := ` {"a": "}]\"", "b": [1, {"c": 2}]} , 5, "x", [3], {"d": 1e5}]`
	sp := newSplitter(iotest.OneByteReader(strings.NewReader(in)), nil)
	want := []struct {
		v     string
		valid bool
	}{{`{"a": "}]\"", "b": [1, {"c": 2}]}`, true}, {`5`, false}, {`"x"`, false}, {`[3]`, true}, {`{"d": 1e5}`, true}}
	for i, w := range want {
		b, valid, err := sp.next()
		if err != nil {
			t.Fatalf("element %d: %v", i, err)
		}
		if string(b) != w.v || valid != w.valid {
			t.Errorf("element %d = %q valid %v, want %q valid %v", i, b, valid, w.v, w.valid)
		}
	}
	if _, _, err := sp.next(); err == nil {
		t.Errorf("want io.EOF after the last element")
	}
}
