// Package privacy says how private each field the server can output is, and
// what a scope may see of it: "privacy by class" (issue 13).
//
// Every field of every record kind the server outputs (addresses, buildings,
// events, grids, admin areas, households, aggregate cells, …) has one of four
// classes:
//
//   - Public: may be published (unit codes, names and outlines; counts that
//     passed disclosure control).
//   - Internal: for staff who read rows (the rows capability): an event's
//     category, status and point, a building's use.
//   - Personal: about a person or a flat: a household, an event's free-text
//     title (reporters write names into it), a room-level address. Staff who
//     serve households (households) see it, personal data masked as stored
//     (138****5678, 张*, 440304********1234); unmasking needs the personal
//     capability, a stated reason, and is audited.
//   - Sensitive: health, welfare and police matters: the point and address of
//     an event in a sensitive category, a household's tags. Shown only where
//     it is the caller's duty: an event category among their duties (or the
//     sensitive capability); a household's tags to those who serve the
//     household (households, inside the jurisdiction).
//
// A caller without rows gets no row output at all (only disclosure-controlled
// aggregates). Where a field is not shown, a record kind may show a coarser
// stand-in instead (Field.Others): a room's building for an event's address,
// the H3 res-9 cell centre for a sensitive event's point.
//
// The registry (registry.go) is the one table; query builds its outputs from
// it and tests walk every output (feature collections, OGC collections,
// households, tile layers) and fail on a field without a class. The package is
// pure: no I/O.
package privacy

import (
	"fmt"
	"slices"

	"github.com/onegrid/onegrid/scope"
)

// Class is how private a field is.
type Class int

// The classes, least private first.
const (
	Public Class = iota + 1
	Internal
	Personal
	Sensitive
)

func (c Class) String() string {
	switch c {
	case Public:
		return "public"
	case Internal:
		return "internal"
	case Personal:
		return "personal"
	case Sensitive:
		return "sensitive"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Record is a kind of record the server outputs, with the class a caller needs
// to get such a record at all and the class of each of its fields.
type Record struct {
	Kind string
	// Row is the class a caller needs to get the record at all: Internal for
	// rows, Personal for households and flats, Public for aggregate cells.
	Row    Class
	Doc    string
	Fields []Field
}

// Field is one output field of a record kind.
type Field struct {
	Name  string
	Class Class
	// Others says what a caller who may not see the field gets instead ("" =
	// the field is left out); Masked says the stored value is masked (the
	// clear value only by unmasking).
	Others string
	Masked bool
	Doc    string
}

// Field returns the field of the record kind named name.
func (r *Record) Field(name string) (Field, bool) {
	for _, f := range r.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Lookup returns the record kind.
func Lookup(kind string) (*Record, bool) {
	for i := range registry {
		if registry[i].Kind == kind {
			return &registry[i], true
		}
	}
	return nil, false
}

// Records returns the registry, in its order.
func Records() []Record { return slices.Clone(registry) }

// ClassOf returns the class of a field of a record kind; ok is false for a
// field the registry does not list.
func ClassOf(kind, field string) (c Class, ok bool) {
	r, ok := Lookup(kind)
	if !ok {
		return 0, false
	}
	f, ok := r.Field(field)
	return f.Class, ok
}

// Flat address levels: an address at these levels identifies a flat (a unit's
// stairwell of flats, a floor of a few, one room). Such a record is personal;
// others see addresses down to the building.
var FlatLevels = []string{"unit", "floor", "room"}

// IsFlat reports whether an address level identifies a flat.
func IsFlat(level string) bool { return slices.Contains(FlatLevels, level) }

// View is what one caller may see, from its scope's capabilities.
type View struct {
	rows, households, unmask, sensitive bool
	duties                              []string
}

// For returns the view of a scope.
func For(sc scope.Scope) View {
	return View{rows: sc.Can(scope.CanRows), households: sc.Can(scope.CanHouseholds), unmask: sc.Can(scope.CanPersonal),
		sensitive: sc.Can(scope.CanSensitive), duties: slices.Clone(sc.Duties)}
}

// Rows reports whether the caller gets row output at all.
func (v View) Rows() bool { return v.rows }

// Households reports whether the caller sees personal fields (masked) and
// household records.
func (v View) Households() bool { return v.rows && v.households }

// Unmask reports whether the caller may unmask personal fields (with a reason).
func (v View) Unmask() bool { return v.rows && v.households && v.unmask }

// AllSensitive reports whether every sensitive event is the caller's duty.
func (v View) AllSensitive() bool { return v.rows && v.sensitive }

// Duty reports whether a category's sensitive events are the caller's duty
// (shown exactly); scope.Duty is the same rule.
func (v View) Duty(category string) bool {
	if v.AllSensitive() {
		return true
	}
	if !v.rows {
		return false
	}
	for _, d := range v.duties {
		if scope.Inside(category, d) {
			return true
		}
	}
	return false
}

// Sees reports whether the caller sees fields of a class in the record kind's
// own terms: public and internal with rows, personal with households, and
// sensitive only where it is the caller's duty, which for events the caller
// decides per row (Duty) and which for a household is serving it (households).
// dutyHere says whether the record at hand is the caller's duty.
func (v View) Sees(c Class, dutyHere bool) bool {
	switch c {
	case Public, Internal:
		return v.rows
	case Personal:
		return v.Households()
	case Sensitive:
		return v.rows && dutyHere
	}
	return false
}
