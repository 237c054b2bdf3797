package privacy_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/onegrid/onegrid/privacy"
	"github.com/onegrid/onegrid/query"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// tileKinds are the record kinds whose fields each tile layer carries. A new
// layer needs a line here (and its fields a class), or the test fails.
var tileKinds = map[string][]string{
	"admin":         {"admin_area", "unit_load"},
	"admin_label":   {"admin_area", "unit_load"},
	"grids":         {"grid", "unit_load"},
	"grid_label":    {"grid", "unit_load"},
	"households_h3": {"h3_cell"},
	"buildings":     {"building"},
	"events_h3":     {"h3_cell"},
	"hotspots":      {"hotspot_cell"},
	"events":        {"event", "sensitive_event"},
	"addresses":     {"address"},
}

// classed fails unless the field has a class in one of the kinds (in every
// one of them, with every).
func classed(t *testing.T, where, field string, kinds []string, every bool) {
	t.Helper()
	found := 0
	for _, k := range kinds {
		if _, ok := privacy.ClassOf(k, field); ok {
			found++
		}
	}
	if found == 0 || (every && found < len(kinds)) {
		t.Errorf("%s: field %s has no class in the privacy registry (kinds %v)", where, field, kinds)
	}
}

// TestEveryOutputFieldHasAClass walks the outputs: the feature collections
// (which are the OGC collections too), the household output and the tile
// layers' fields.
func TestEveryOutputFieldHasAClass(t *testing.T) {
	for _, c := range query.Collections() {
		for _, f := range c.Properties() {
			// An event's field needs a class for events of either sensitivity.
			classed(t, "collection "+c.ID, f, c.Kinds(), true)
		}
	}
	for _, o := range []struct {
		what string
		t    reflect.Type
		kind string
	}{
		{"household output", reflect.TypeFor[query.Household](), "household"},
		// The address routes (a flat's are the same fields of kind flat).
		{"address", reflect.TypeFor[query.Address](), "address"},
		{"address search hit", reflect.TypeFor[query.SearchHit](), "address"},
		{"address near hit", reflect.TypeFor[query.NearHit](), "address"},
		{"flat", reflect.TypeFor[query.Address](), "flat"},
	} {
		for _, name := range jsonNames(o.t) {
			classed(t, o.what, name, []string{o.kind}, true)
		}
	}
	for _, l := range tiles.Layers() {
		kinds, ok := tileKinds[l.Name]
		if !ok {
			t.Errorf("tile layer %s: no record kinds stated in tileKinds", l.Name)
			continue
		}
		for f := range l.Fields {
			classed(t, "tile layer "+l.Name, f, kinds, false)
		}
		if l.Label != "" {
			lk, ok := tileKinds[l.Label]
			if !ok {
				t.Errorf("tile label layer %s: no record kinds stated in tileKinds", l.Label)
				continue
			}
			for f := range l.LabelFields {
				classed(t, "tile layer "+l.Label, f, lk, false)
			}
		}
	}
}

// jsonNames lists the JSON members of a struct type, embedded structs' included.
func jsonNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, jsonNames(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "-" && name != "" {
			out = append(out, name)
		}
	}
	return out
}

// TestRegistry: every field has a known class, names are unique per kind,
// "others get" is only said of fields some caller does not see, and the kinds
// that hold a person's data need at least households.
func TestRegistry(t *testing.T) {
	for _, r := range privacy.Records() {
		seen := map[string]bool{}
		for _, f := range r.Fields {
			if seen[f.Name] {
				t.Errorf("%s.%s listed twice", r.Kind, f.Name)
			}
			seen[f.Name] = true
			if f.Class < privacy.Public || f.Class > privacy.Sensitive {
				t.Errorf("%s.%s: class %v", r.Kind, f.Name, f.Class)
			}
			if f.Others != "" && f.Class <= privacy.Internal {
				t.Errorf("%s.%s: %v fields are seen by every caller with rows; nothing to say what others get", r.Kind, f.Name, f.Class)
			}
			if f.Masked && f.Class != privacy.Personal {
				t.Errorf("%s.%s: masked but %v", r.Kind, f.Name, f.Class)
			}
		}
	}
	for _, k := range []string{"household", "flat"} {
		if r, ok := privacy.Lookup(k); !ok || r.Row != privacy.Personal {
			t.Errorf("%s records: %v, want to need households (personal)", k, r)
		}
	}
	// The examples the issue names.
	for _, tc := range []struct {
		kind, field string
		want        privacy.Class
	}{
		{"event", "title", privacy.Personal},
		{"event", "address_id", privacy.Personal},
		{"sensitive_event", "geometry", privacy.Sensitive},
		{"sensitive_event", "address_id", privacy.Sensitive},
		{"household", "tags", privacy.Sensitive},
		{"household", "phone", privacy.Personal},
		{"flat", "full_text", privacy.Personal},
		{"address", "full_text", privacy.Internal},
		{"grid", "code", privacy.Public},
	} {
		if c, ok := privacy.ClassOf(tc.kind, tc.field); !ok || c != tc.want {
			t.Errorf("%s.%s: %v, want %v", tc.kind, tc.field, c, tc.want)
		}
	}
}

// TestREADMETable: README.md's "Privacy by class" table is the registry's.
func TestREADMETable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), privacy.Markdown()) {
		t.Errorf("README.md lacks the registry's table (privacy.Markdown); paste it under \"Privacy by class\":\n%s", privacy.Markdown())
	}
}

// TestViews: what each role's capabilities see.
func TestViews(t *testing.T) {
	caps := func(c ...string) scope.Scope { return scope.Scope{Units: []string{""}, Caps: c} }
	worker := caps(scope.CanRows, scope.CanHouseholds, scope.CanPersonal, scope.CanAggregates, scope.CanEvents)
	officer := worker
	officer.Duties = []string{"0501"}
	for _, tc := range []struct {
		name                                 string
		sc                                   scope.Scope
		rows, households, unmask, dutyOf0501 bool
		sees                                 map[privacy.Class]bool // with no duty at hand
	}{
		{"analyst", caps(scope.CanAggregates), false, false, false, false,
			map[privacy.Class]bool{privacy.Public: false, privacy.Internal: false, privacy.Personal: false, privacy.Sensitive: false}},
		{"planner", caps(scope.CanRows, scope.CanAggregates), true, false, false, false,
			map[privacy.Class]bool{privacy.Public: true, privacy.Internal: true, privacy.Personal: false, privacy.Sensitive: false}},
		{"command", caps(scope.CanRows, scope.CanAggregates, scope.CanEvents), true, false, false, false,
			map[privacy.Class]bool{privacy.Public: true, privacy.Internal: true, privacy.Personal: false, privacy.Sensitive: false}},
		{"grid worker", worker, true, true, true, false,
			map[privacy.Class]bool{privacy.Public: true, privacy.Internal: true, privacy.Personal: true, privacy.Sensitive: false}},
		{"officer with a duty", officer, true, true, true, true,
			map[privacy.Class]bool{privacy.Public: true, privacy.Internal: true, privacy.Personal: true, privacy.Sensitive: false}},
		{"admin", caps(scope.CanRows, scope.CanHouseholds, scope.CanSensitive), true, true, false, true,
			map[privacy.Class]bool{privacy.Public: true, privacy.Internal: true, privacy.Personal: true, privacy.Sensitive: false}},
		{"auditor", caps(scope.CanAudit), false, false, false, false,
			map[privacy.Class]bool{privacy.Public: false, privacy.Internal: false, privacy.Personal: false, privacy.Sensitive: false}},
	} {
		v := privacy.For(tc.sc)
		if v.Rows() != tc.rows || v.Households() != tc.households || v.Unmask() != tc.unmask || v.Duty("050101") != tc.dutyOf0501 {
			t.Errorf("%s: rows %v households %v unmask %v duty %v", tc.name, v.Rows(), v.Households(), v.Unmask(), v.Duty("050101"))
		}
		if v.Duty("050101") != (tc.rows && tc.sc.Duty("050101")) {
			t.Errorf("%s: Duty differs from scope.Duty", tc.name)
		}
		for c, want := range tc.sees {
			if got := v.Sees(c, false); got != want {
				t.Errorf("%s sees %v: %v, want %v", tc.name, c, got, want)
			}
		}
		if v.Sees(privacy.Sensitive, true) != tc.rows {
			t.Errorf("%s: a sensitive field that is their duty: %v", tc.name, v.Sees(privacy.Sensitive, true))
		}
	}
}

func TestFlatLevels(t *testing.T) {
	for level, want := range map[string]bool{"room": true, "floor": true, "unit": true, "building": false, "road": false, "community": false} {
		if privacy.IsFlat(level) != want {
			t.Errorf("IsFlat(%s) = %v", level, !want)
		}
	}
}
