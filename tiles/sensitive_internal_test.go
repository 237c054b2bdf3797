package tiles

import (
	"slices"
	"testing"

	"github.com/uber/h3-go/v4"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
)

// TestCellArithmetic: centreChild agrees with the H3 library.
func TestCellArithmetic(t *testing.T) {
	for _, p := range [][2]float64{{114.0125, 22.54}, {-122.42, 37.77}, {0.1, 51.5}, {151.2, -33.87}} {
		for _, res := range []int{5, 7, 9} {
			c := h3.LatLngToCell(h3.NewLatLng(p[1], p[0]), res)
			for _, child := range []int{res, res + 1, 10, 12} {
				if child < res {
					continue
				}
				if got, want := centreChild(int64(c), child), int64(c.CenterChild(child)); got != want {
					t.Errorf("centre child of %s at %d: %x, want %x", c, child, got, want)
				}
				for _, k := range c.Children(child) {
					if geo.ParentBits(int64(k), res) != int64(c) {
						t.Errorf("child %s: parent bits disagree", k)
					}
				}
			}
		}
	}
}

func TestSensitivityRules(t *testing.T) {
	s := &Sensitivity{flagged: []string{"13", "0804"}, codes: []string{"01", "0101", "0804", "080401", "0805", "13", "1302", "130201"}}
	for _, tc := range []struct {
		sc   scope.Scope
		want []string
	}{
		{scope.Scope{Units: []string{""}}, []string{"0804", "080401", "13", "1302", "130201"}},
		{scope.Scope{Units: []string{""}, Duties: []string{"1302"}}, []string{"0804", "080401", "13"}},
		{scope.Scope{Units: []string{""}, Duties: []string{"08", "13"}}, nil},
		{scope.Scope{Units: []string{""}, Caps: []string{scope.CanSensitive}}, nil},
	} {
		if got := s.maskedCodes(tc.sc); !slices.Equal(got, tc.want) {
			t.Errorf("duties %v caps %v: masked %v, want %v", tc.sc.Duties, tc.sc.Caps, got, tc.want)
		}
	}
	if (&Sensitivity{codes: []string{"01"}}).maskedCodes(scope.Scope{}) != nil {
		t.Error("a taxonomy without sensitive categories masks something")
	}
}
