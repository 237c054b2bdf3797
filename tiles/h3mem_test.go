package tiles_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"testing"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/testcity"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// TestH3InMemoryMatchesSQL: the H3 layers drawn from the in-memory aggregates are
// the tiles the per-tile queries give, at every zoom band, for the centre tile and
// its neighbours, unfiltered and filtered by status.
func TestH3InMemoryMatchesSQL(t *testing.T) {
	s, conn := openCity(t, tiles.Config{})
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	// Spread events over some kilometres, so tiles hold several cells, some across
	// tile edges.
	rng := rand.New(rand.NewPCG(7, 7))
	for range 150 {
		p := [2]float64{testcity.Centre[0] + (rng.Float64()-0.5)*0.08, testcity.Centre[1] + (rng.Float64()-0.5)*0.08}
		if _, err := testcity.AddEvent(context.Background(), db, p); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct{ layer, query string }{
		{"events_h3", ""},
		{"events_h3", "status=reported"},
		{"events_h3", "status=closed,cancelled"},
		{"events_h3", "status=resolved"},
		{"households_h3", ""},
	}
	features := 0
	for z := 6; z <= 16; z++ {
		c := at(testcity.Centre, z)
		for dx := -1; dx <= 1; dx++ {
			for dy := -1; dy <= 1; dy++ {
				tile := geo.Tile{Z: z, X: c.X + dx, Y: c.Y + dy}
				for _, tc := range cases {
					q, _ := url.ParseQuery(tc.query)
					f, err := tiles.ParseFilter(q)
					if err != nil {
						t.Fatal(err)
					}
					got, err := s.Render(context.Background(), scope.System(), tc.layer, tile, f)
					if err != nil {
						t.Fatal(err)
					}
					want, err := s.RenderH3BySQL(context.Background(), tc.layer, tile, f)
					if err != nil {
						t.Fatal(err)
					}
					g, w := decodeJSON(t, got), encodeJSON(t, releaseReference(decode(t, want), tiles.DefaultMinCount))
					if g != w {
						t.Errorf("%s %v %q:\n in memory %s\n by query  %s", tc.layer, tile, tc.query, g, w)
					}
					for _, fc := range decode(t, want) {
						features += len(fc.Features)
					}
				}
			}
		}
	}
	if features < 500 {
		t.Fatalf("only %d features compared: the test city is too sparse to test anything", features)
	}
}

func decodeJSON(t *testing.T, raw []byte) string { return encodeJSON(t, decode(t, raw)) }

func encodeJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
