package query

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestParseUnmaskRequest(t *testing.T) {
	for _, tc := range []struct {
		body, param string // param: the parameter a 400 names ("" = accepted)
		want        UnmaskRequest
	}{
		{`{"fields": ["phone", "head_name", "phone"], "reason": "  回访核实  "}`, "", UnmaskRequest{Fields: []string{"head_name", "phone"}, Reason: "回访核实"}},
		{`{"reason": "visit: check the number", "fields": ["id_no"]}`, "", UnmaskRequest{Fields: []string{"id_no"}, Reason: "visit: check the number"}},
		{`{"fields": ["phone"]}`, "reason", UnmaskRequest{}},
		{`{"fields": ["phone"], "reason": ""}`, "reason", UnmaskRequest{}},
		{`{"fields": ["phone"], "reason": " abc "}`, "reason", UnmaskRequest{}},
		{`{"fields": ["phone"], "reason": "` + strings.Repeat("因", MaxReason+1) + `"}`, "reason", UnmaskRequest{}},
		{`{"fields": ["phone"], "reason": "why\u0000not"}`, "reason", UnmaskRequest{}},
		{`{"fields": [], "reason": "good reason"}`, "fields", UnmaskRequest{}},
		{`{"reason": "good reason"}`, "fields", UnmaskRequest{}},
		{`{"fields": ["members"], "reason": "good reason"}`, "fields", UnmaskRequest{}},
		{`{"fields": "phone", "reason": "good reason"}`, "fields", UnmaskRequest{}},
		{`{"fields": ["phone"], "reason": "good reason", "extra": 1}`, "body", UnmaskRequest{}},
		{`{"fields": ["phone"], "reason": "good reason"} {}`, "body", UnmaskRequest{}},
		{`[]`, "body", UnmaskRequest{}},
		{``, "body", UnmaskRequest{}},
		{"\xff", "body", UnmaskRequest{}},
		{`{"fields": ["phone"], "reason": "good reason", "13812345678": 1}`, "body", UnmaskRequest{}},
	} {
		got, err := ParseUnmaskRequest([]byte(tc.body))
		switch {
		case tc.param == "" && (err != nil || !slices.Equal(got.Fields, tc.want.Fields) || got.Reason != tc.want.Reason):
			t.Errorf("%s: %+v, %v; want %+v", tc.body, got, err, tc.want)
		case tc.param != "" && !isParam(err, tc.param):
			t.Errorf("%s: %v, want a 400 naming %s", tc.body, err, tc.param)
		case err != nil && strings.Contains(err.Error(), "13812345678"):
			t.Errorf("%s: the error echoes the input: %v", tc.body, err)
		}
	}
}

func FuzzUnmaskRequest(f *testing.F) {
	for _, s := range []string{
		`{"fields": ["phone", "head_name"], "reason": "上门走访核实联系电话"}`,
		`{"fields": ["id_no"], "reason": "why"}`,
		`{"fields": ["phone"], "reason": "a\tb\nc d"}`,
		`{"fields": null, "reason": null}`,
		`{"fields": ["phone"], "reason": "reason", "fields": ["id_no"]}`,
		`{}`, `null`, `"x"`, `{"reason": 5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseUnmaskRequest(body)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("not a parameter error: %v", err)
			}
			return
		}
		// What is accepted: some personal fields, once each, in order; a reason
		// of MinReason..MaxReason characters, trimmed, without control characters
		// but tab and newline; and the same again from its own JSON.
		if len(req.Fields) == 0 {
			t.Fatal("no fields accepted")
		}
		for i, f := range req.Fields {
			if !slices.Contains(PersonalFields, f) || (i > 0 && slices.Index(PersonalFields, req.Fields[i-1]) >= slices.Index(PersonalFields, f)) {
				t.Fatalf("fields %v", req.Fields)
			}
		}
		n := utf8.RuneCountInString(req.Reason)
		if n < MinReason || n > MaxReason || strings.TrimSpace(req.Reason) != req.Reason || !utf8.ValidString(req.Reason) ||
			strings.IndexFunc(req.Reason, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' }) >= 0 {
			t.Fatalf("reason %q", req.Reason)
		}
		b, _ := json.Marshal(req)
		again, err := ParseUnmaskRequest(b)
		if err != nil || !slices.Equal(again.Fields, req.Fields) || again.Reason != req.Reason {
			t.Fatalf("round trip of %+v: %+v, %v", req, again, err)
		}
	})
}

func TestParseHouseholdCursor(t *testing.T) {
	q := HouseholdQuery{Unit: "440304002001001"}
	c := HouseholdCursor(q, 123)
	if after, err := ParseHouseholdCursor("cursor", c, q.Fingerprint()); err != nil || after != 123 {
		t.Errorf("round trip: %d, %v", after, err)
	}
	if after, err := ParseHouseholdCursor("cursor", "", q.Fingerprint()); err != nil || after != 0 {
		t.Errorf("first page: %d, %v", after, err)
	}
	other := HouseholdQuery{Unit: "440304002001001", Tag: "低保"}
	for _, s := range []string{c + "x", "AAAA", Cursor{After: "12a", Query: q.Fingerprint()}.Encode(),
		Cursor{After: "-5", Query: q.Fingerprint()}.Encode(), Cursor{After: "007", Query: q.Fingerprint()}.Encode()} {
		if _, err := ParseHouseholdCursor("cursor", s, q.Fingerprint()); !isParam(err, "cursor") {
			t.Errorf("%q: %v, want a 400 naming cursor", s, err)
		}
	}
	if _, err := ParseHouseholdCursor("cursor", c, other.Fingerprint()); !isParam(err, "cursor") {
		t.Errorf("a cursor of another query: %v", err)
	}
}

func FuzzHouseholdCursor(f *testing.F) {
	q := HouseholdQuery{Unit: "440304002001001", Tag: "残疾人"}
	f.Add(HouseholdCursor(q, 1), q.Fingerprint())
	f.Add(HouseholdCursor(q, 9223372036854775807), q.Fingerprint())
	f.Add("", uint32(0))
	f.Add("____", uint32(3))
	f.Add(Cursor{After: "1e3", Query: 9}.Encode(), uint32(9))
	f.Fuzz(func(t *testing.T, s string, fp uint32) {
		after, err := ParseHouseholdCursor("cursor", s, fp)
		if err != nil {
			if !isParam(err, "cursor") {
				t.Fatal(err)
			}
			return
		}
		if s == "" {
			if after != 0 {
				t.Fatalf("empty cursor: %d", after)
			}
			return
		}
		// An accepted cursor names a positive id, as its canonical encoding does.
		canon := Cursor{After: strconv.FormatInt(after, 10), Query: fp}.Encode()
		if back, err := ParseHouseholdCursor("cursor", canon, fp); after <= 0 || err != nil || back != after {
			t.Fatalf("cursor %q accepted as %d; canonical %q: %d, %v", s, after, canon, back, err)
		}
	})
}
