package api

import (
	"strconv"
	"testing"
	"time"

	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/sdctest"
	qry "github.com/onegrid/onegrid/query"
)

// eqCount reports whether a released count is what it should be (nil: suppressed).
func eqCount(got, want *int64) bool {
	return got == nil && want == nil || got != nil && want != nil && *got == *want
}

// show formats a released count.
func show(v *int64) string {
	if v == nil {
		return "suppressed"
	}
	return strconv.FormatInt(*v, 10)
}

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
			keys := keysOf(t, city)
			var hh sdctest.Set
			var people int64
			tags := map[string]*sdctest.Set{}
			for _, tg := range fixture.Tags {
				tags[tg] = &sdctest.Set{}
			}
			for _, h := range city.Households {
				if in(h.GridCode) {
					hh.Add(keys.hh[h.ID])
					people += int64(h.Members)
					for _, tg := range h.Tags {
						tags[tg].Add(keys.hh[h.ID])
					}
				}
			}
			var total, open, overdue sdctest.Set
			now := city.Now
			for _, e := range city.Events {
				if in(e.GridCode) && !e.ReportedAt.Before(from) && e.ReportedAt.Before(to) {
					total.Add(keys.ev[e.ID])
					if e.Open() {
						open.Add(keys.ev[e.ID])
						if e.Deadline.Before(now) {
							overdue.Add(keys.ev[e.ID])
						}
					}
				}
			}
			wantHH, wantPeople := sdctest.Count(5, hh, sdctest.Households), sdctest.Sum(5, people, hh, sdctest.People)
			if !eqCount(l.Households, wantHH) || !eqCount(l.People, wantPeople) {
				t.Errorf("households %s people %s, want %s %s (of %d, %d)", show(l.Households), show(l.People), show(wantHH), show(wantPeople), hh.N, people)
			}
			// Every tag in use is listed, whether the grid has households with it or not.
			if len(l.TaggedPeople) != len(tags) {
				t.Errorf("tags %v, want every tag in use %v", l.TaggedPeople, fixture.Tags)
			}
			for tg, set := range tags {
				got, ok := l.TaggedPeople[tg]
				if w := sdctest.Count(5, *set, sdctest.Tagged); !ok || !eqCount(got, w) {
					t.Errorf("tag %s: %s (listed %v), want %s (of %d)", tg, show(got), ok, show(w), set.N)
				}
			}
			for _, c := range []struct {
				name string
				got  *int64
				set  sdctest.Set
			}{{"total", l.Events.Total, total}, {"open", l.Events.Open, open}, {"overdue", l.Events.Overdue, overdue}} {
				if w := sdctest.Count(5, c.set, sdctest.Events); !eqCount(c.got, w) {
					t.Errorf("events %s %s, want %s (of %d)", c.name, show(c.got), show(w), c.set.N)
				}
			}
			if l.Level == "micro_grid" {
				b := qry.DefaultBands()["micro_grid"]
				// The band is checked on the released figures.
				want := wantHH != nil && *wantHH >= int64(b.MinHouseholds) && *wantHH <= int64(b.MaxHouseholds) &&
					wantPeople != nil && *wantPeople >= int64(b.MinPeople) && *wantPeople <= int64(b.MaxPeople)
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
	keys := keysOf(t, city)
	for _, g := range city.Grids {
		if g.Level != "micro_grid" || g.ValidTo != nil {
			continue
		}
		checked++
		var hh sdctest.Set
		var people int64
		for _, h := range city.Households {
			if h.GridCode == g.Code {
				hh.Add(keys.hh[h.ID])
				people += int64(h.Members)
			}
		}
		// Judged on the released figures.
		rh, rp := sdctest.Count(5, hh, sdctest.Households), sdctest.Sum(5, people, hh, sdctest.People)
		if rh == nil || *rh < int64(band.MinHouseholds) || *rh > int64(band.MaxHouseholds) || rp == nil || *rp < int64(band.MinPeople) || *rp > int64(band.MaxPeople) {
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
			t.Errorf("%s listed (%s households, %s people), but it is in band", g.Code, show(g.Households), show(g.People))
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
