package api

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"

	"github.com/onegrid/onegrid/internal/fixture"
	qry "github.com/onegrid/onegrid/query"
)

func TestAddressDetail(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	var b fixture.Address
	var children []fixture.Address
	for _, a := range city.Addresses {
		if a.Level == "building" && a.Alias != "" {
			b = a
			break
		}
	}
	for _, a := range city.Addresses {
		if a.ParentID == b.ID {
			children = append(children, a)
		}
	}
	var d qry.AddressDetail
	if code := get(t, ts, fmt.Sprintf("/api/v1/addresses/%d?children=1", b.ID), &d); code != 200 {
		t.Fatal(code)
	}
	if d.Text != b.Text || d.Level != "building" || len(d.Aliases) != 1 || d.Aliases[0] != b.Alias {
		t.Errorf("got %+v, want %+v", d.Address, b)
	}
	if d.ChildCount != int64(len(children)) || len(d.Children) != 1 {
		t.Errorf("%d children listed of %d, want 1 of %d", len(d.Children), d.ChildCount, len(children))
	}
	var room qry.AddressDetail
	get(t, ts, fmt.Sprintf("/api/v1/addresses/%d", children[0].ID), &room)
	if len(room.Ancestors) != 1 || room.Ancestors[0].ID != b.ID {
		t.Errorf("ancestors of a room: %+v, want building %d", room.Ancestors, b.ID)
	}
	if code := get(t, ts, "/api/v1/addresses/999999999", nil); code != 404 {
		t.Errorf("unknown id: status %d", code)
	}
	if code := get(t, ts, "/api/v1/addresses/abc", nil); code != 400 {
		t.Errorf("bad id: status %d", code)
	}
}

func TestAddressSearch(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	var withAlias fixture.Address
	for _, a := range city.Addresses {
		if a.Alias != "" {
			withAlias = a
			break
		}
	}
	cases := []struct {
		name, q string
		want    int64 // must be the first hit
	}{
		{"alias", withAlias.Alias, withAlias.ID},
		{"full text of a building", withAlias.Text, withAlias.ID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var res struct{ Addresses []qry.SearchHit }
			if code := get(t, ts, "/api/v1/addresses"+qs("q", tc.q, "limit", "5"), &res); code != 200 {
				t.Fatal(code)
			}
			if len(res.Addresses) == 0 || res.Addresses[0].ID != tc.want {
				t.Fatalf("hits %+v, want %d first", res.Addresses, tc.want)
			}
			if len(res.Addresses) > 5 {
				t.Errorf("%d hits, limit 5", len(res.Addresses))
			}
		})
	}
	t.Run("substring", func(t *testing.T) {
		var res struct{ Addresses []qry.SearchHit }
		get(t, ts, "/api/v1/addresses"+qs("q", "南园路", "limit", "100"), &res)
		for _, h := range res.Addresses {
			if !strings.Contains(h.Matched, "南园路") {
				t.Errorf("hit %q does not contain the query", h.Matched)
			}
		}
		if len(res.Addresses) == 0 {
			t.Error("no hits")
		}
	})
	for _, bad := range []string{"", strings.Repeat("路", 101)} {
		if code := get(t, ts, "/api/v1/addresses"+qs("q", bad), nil); code != 400 {
			t.Errorf("q=%q: status %d", bad, code)
		}
	}
}

func TestAddressNear(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	p := orb.Point{114.0051, 22.5101}
	var res struct{ Addresses []qry.NearHit }
	if code := get(t, ts, "/api/v1/addresses/near"+qs("lon", "114.0051", "lat", "22.5101", "radius", "1500", "limit", "5"), &res); code != 200 {
		t.Fatal(code)
	}
	var d []float64
	for _, a := range city.Addresses {
		if dd := orbgeo.Distance(p, a.Point); dd <= 1500 {
			d = append(d, dd)
		}
	}
	sort.Float64s(d)
	if len(res.Addresses) != min(5, len(d)) {
		t.Fatalf("%d hits, want %d", len(res.Addresses), min(5, len(d)))
	}
	for i, h := range res.Addresses {
		if diff := h.DistanceM - d[i]; diff > 0.5 || diff < -0.5 {
			t.Errorf("hit %d at %.2f m, want %.2f m", i, h.DistanceM, d[i])
		}
	}
}
