package api

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	qry "github.com/onegrid/onegrid/query"
)

// TestLocationJSON holds appendLocation to the bytes encoding/json writes.
func TestLocationJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "福田区", "荔园社区第2网格第5微网格", `a"b\c`, "tab\there", "<&>", "line\u2028sep", "…—", "bad\xffutf8", "\x01"}
	str := func() string { return strs[rng.IntN(len(strs))] }
	floats := []float64{0, 114.05, 22.55, 48.03, 100, 1e-7, -3.5, 5000, 1e21, 123456789.125}
	unit := func() *qry.Unit {
		if rng.IntN(4) == 0 {
			return nil
		}
		u := &qry.Unit{Code: str(), Name: str()}
		if rng.IntN(2) == 0 {
			v := rng.IntN(5)
			from := time.Date(2025, 10, 31, 16, 0, 0, rng.IntN(2)*500, time.UTC)
			u.Version, u.ValidFrom = &v, &from
			if rng.IntN(2) == 0 {
				to := from.Add(time.Hour).In(time.FixedZone("CST", 8*3600))
				u.ValidTo = &to
			}
		}
		return u
	}
	for i := 0; i < 2000; i++ {
		loc := &qry.Location{Lon: floats[rng.IntN(len(floats))], Lat: floats[rng.IntN(len(floats))], RadiusM: floats[rng.IntN(len(floats))],
			District: unit(), Street: unit(), Community: unit(), Grid: unit(), MicroGrid: unit(), Note: str()}
		if rng.IntN(2) == 0 {
			at := time.Date(2026, 3, 1, 2, 3, 4, 5, time.UTC)
			loc.At = &at
		}
		if rng.IntN(2) == 0 {
			loc.Address = &qry.NearAddress{ID: rng.Int64N(1e6), Text: str(), DistanceM: floats[rng.IntN(len(floats))]}
		}
		if rng.IntN(5) > 0 {
			loc.H3 = map[string]string{"7": str(), "8": "88411caa2bfffff", "9": str(), "10": "8a411caa2a67fff", "11": str()}
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(loc); err != nil {
			t.Fatal(err)
		}
		if got := appendLocation(nil, loc); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendLocation\n got %s\nwant %s", got, want.Bytes())
		}
	}
}
