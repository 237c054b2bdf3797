package api

import (
	"testing"
	"time"

	"github.com/onegrid/onegrid/internal/fixture"
	qry "github.com/onegrid/onegrid/query"
)

func TestGridLoad(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	from, to := fixture.Now.AddDate(0, -3, 0), fixture.Now
	for _, code := range []string{"440304002001001", "44030400200100101", "440304001002001"} {
		t.Run(code, func(t *testing.T) {
			var l qry.GridLoad
			if status := getJSON(t, ts, "/api/v1/grids/"+code+"/load"+qs("from", from.Format(time.RFC3339), "to", to.Format(time.RFC3339)), &l); status != 200 {
				t.Fatal(status)
			}
			in := func(g string) bool { return len(g) >= len(code) && g[:len(code)] == code }
			var hh, people int64
			tags := map[string]int64{}
			for _, h := range city.Households {
				if in(h.GridCode) {
					hh++
					people += int64(h.Members)
					for _, tg := range h.Tags {
						tags[tg]++
					}
				}
			}
			var total, open, overdue int64
			now := city.Now
			for _, e := range city.Events {
				if in(e.GridCode) && !e.ReportedAt.Before(from) && e.ReportedAt.Before(to) {
					total++
					if e.Open() {
						open++
						if e.Deadline.Before(now) {
							overdue++
						}
					}
				}
			}
			if l.Households != hh || l.People != people {
				t.Errorf("households %d people %d, want %d %d", l.Households, l.People, hh, people)
			}
			for tg, n := range tags {
				if l.TaggedPeople[tg] != n {
					t.Errorf("tag %s: %d, want %d", tg, l.TaggedPeople[tg], n)
				}
			}
			if l.Events.Total != total || l.Events.Open != open || l.Events.Overdue != overdue {
				t.Errorf("events %+v, want total %d open %d overdue %d", l.Events, total, open, overdue)
			}
			if l.Level == "micro_grid" {
				b := qry.DefaultBands()["micro_grid"]
				want := hh >= int64(b.MinHouseholds) && hh <= int64(b.MaxHouseholds) && people >= int64(b.MinPeople) && people <= int64(b.MaxPeople)
				if l.InBand == nil || *l.InBand != want {
					t.Errorf("in band %v, want %v", l.InBand, want)
				}
			}
		})
	}
	if status := getJSON(t, ts, "/api/v1/grids/nope/load", nil); status != 404 {
		t.Errorf("unknown grid: %d", status)
	}
	if status := getJSON(t, ts, "/api/v1/grids/440304002001001/load?from=2026-05-01&to=2026-01-01", nil); status != 400 {
		t.Errorf("reversed window: %d", status)
	}
}

func TestOutOfBand(t *testing.T) {
	t.Parallel()
	band := qry.Band{MinHouseholds: 10, MaxHouseholds: 20, MinPeople: 20, MaxPeople: 60}
	ts, city := fixtureServer(t, qry.Config{Band: map[string]qry.Band{"micro_grid": band}})
	var res qry.OutOfBand
	if status := getJSON(t, ts, "/api/v1/grids/out-of-band?level=micro_grid", &res); status != 200 {
		t.Fatal(status)
	}
	want := map[string]bool{}
	checked := 0
	for _, g := range city.Grids {
		if g.Level != "micro_grid" || g.ValidTo != nil {
			continue
		}
		checked++
		var hh, people int
		for _, h := range city.Households {
			if h.GridCode == g.Code {
				hh++
				people += h.Members
			}
		}
		if hh < band.MinHouseholds || hh > band.MaxHouseholds || people < band.MinPeople || people > band.MaxPeople {
			want[g.Code] = true
		}
	}
	if res.Checked != checked {
		t.Errorf("checked %d, want %d", res.Checked, checked)
	}
	got := map[string]bool{}
	for _, g := range res.Grids {
		got[g.Code] = true
		if !want[g.Code] {
			t.Errorf("%s listed (%d households, %d people), but it is in band", g.Code, g.Households, g.People)
		}
	}
	for c := range want {
		if !got[c] {
			t.Errorf("%s missing", c)
		}
	}
	if status := getJSON(t, ts, "/api/v1/grids/out-of-band?level=street", nil); status != 400 {
		t.Errorf("level without a band: %d", status)
	}
}
