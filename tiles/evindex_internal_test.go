package tiles

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/onegrid/onegrid/geo"
)

// TestEventIndexMerge: an index brought up to date by merge equals the index
// built from scratch out of the new rows, entries and cell lists alike; and rows
// deleted (which a delta cannot show) leave the merged index with more entries
// than the table, which is how refresh notices them.
func TestEventIndexMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	// Real resolution-12 cells a few kilometres around one point, some sharing
	// parents, so the cell lists have runs of several cells.
	var cells []int64
	for range 400 {
		c, err := geo.CellAt(114.0125+(rng.Float64()-0.5)*0.05, 22.54+(rng.Float64()-0.5)*0.05, geo.StorageRes)
		if err != nil {
			t.Fatal(err)
		}
		cells = append(cells, c)
	}
	cats := []string{"01", "0101", "010101", "02", "0201"}
	row := func(id int64) evRow {
		return evRow{id: id, cell: cells[rng.IntN(len(cells))], at: rng.Int64N(1 << 40), cat: uint16(rng.IntN(len(cats))), st: uint8(rng.IntN(len(Statuses)))}
	}
	truth := map[int64]evRow{}
	for id := int64(1); id <= 3000; id++ {
		truth[id] = row(id)
	}
	build := func() *evIndex {
		rows := make([]evRow, 0, len(truth))
		for _, r := range truth {
			rows = append(rows, r)
		}
		ix := fromRows(rows, cats, Statuses)
		if err := ix.build(nil); err != nil {
			t.Fatal(err)
		}
		return ix
	}
	cur := build()
	nextID := int64(3001)
	for round := range 60 {
		var delta []evRow
		deleted := 0
		switch {
		case round%10 == 9:
			// Deletions only (and one update): the count differs.
			for range 1 + rng.IntN(5) {
				for id := range truth {
					delete(truth, id)
					deleted++
					break
				}
			}
			for id := range truth {
				r := row(id)
				truth[id] = r
				delta = append(delta, r)
				break
			}
		case round%7 == 0:
			// Nothing changed (a statement that touched no row).
		default:
			inDelta := map[int64]bool{}
			ids := slices.Collect(maps.Keys(truth))
			for range rng.IntN(40) {
				r := row(nextID) // a new event
				if rng.IntN(3) == 0 {
					nextID++
				} else {
					r = row(ids[rng.IntN(len(ids))]) // an update: anything may change
				}
				if !inDelta[r.id] {
					inDelta[r.id] = true
					truth[r.id] = r
					delta = append(delta, r)
				}
			}
			if rng.IntN(4) == 0 {
				// Unchanged rows in the delta too (the xmin test gives a superset).
				for _, id := range ids[:5] {
					if !inDelta[id] {
						inDelta[id] = true
						delta = append(delta, truth[id])
					}
				}
			}
		}
		slices.SortFunc(delta, compareEvRows)
		got := cur.merge(delta, cats, Statuses)
		if err := got.build(cur); err != nil {
			t.Fatal(err)
		}
		if deleted > 0 {
			if len(got.id) == len(truth) {
				t.Fatalf("round %d: %d rows deleted, merged index has the table's %d entries", round, deleted, len(truth))
			}
			cur = build() // refresh reads the table whole
			continue
		}
		want := build()
		if err := sameIndex(got, want); err != nil {
			t.Fatalf("round %d (%d changed rows): %v", round, len(delta), err)
		}
		cur = got
	}
}

func sameIndex(a, b *evIndex) error {
	switch {
	case !slices.Equal(a.id, b.id):
		return fmt.Errorf("ids differ")
	case !slices.Equal(a.cell, b.cell):
		return fmt.Errorf("cells differ")
	case !slices.Equal(a.at, b.at):
		return fmt.Errorf("times differ")
	case !slices.Equal(a.cat, b.cat):
		return fmt.Errorf("categories differ")
	case !slices.Equal(a.st, b.st):
		return fmt.Errorf("statuses differ")
	}
	for _, r := range evResolutions {
		ca, cb := a.byRes[r], b.byRes[r]
		if !slices.Equal(ca.cells, cb.cells) || !slices.Equal(ca.start, cb.start) {
			return fmt.Errorf("res %d: cell lists differ", r)
		}
		if len(ca.grid) != len(cb.grid) {
			return fmt.Errorf("res %d: grids of %d and %d cells", r, len(ca.grid), len(cb.grid))
		}
		for i := range ca.grid {
			pa, pb := ca.grid[i], cb.grid[i]
			if pa.x != pb.x || pa.y != pb.y || pa.cell != pb.cell || pa.i != pb.i || len(pa.ring) != len(pb.ring) {
				return fmt.Errorf("res %d: grid point %d: %+v, want %+v", r, i, pa, pb)
			}
		}
	}
	return nil
}

// BenchmarkEventIndexMerge is the work of an incremental refresh of a
// million-event index outside the database: one new or changed event merged in
// and the cell lists rebuilt (reusing the grids).
func BenchmarkEventIndexMerge(b *testing.B) {
	old, cells, cats := syntheticIndex(b)
	for _, tc := range []struct {
		name  string
		delta []evRow
	}{
		{"insert", []evRow{{id: 1_000_001, cell: cells[7], at: 1 << 39}}},
		{"update", []evRow{{id: 500_000, cell: cells[7], at: 1 << 39}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ix := old.merge(tc.delta, cats, Statuses)
				if err := ix.build(old); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSortEvRows: the radix sort orders rows as compareEvRows does, for
// resolution-12 cells and for any int64 (other resolutions, negative values).
func TestSortEvRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, tc := range []struct {
		name string
		cell func() int64
	}{
		{"res-12 cells", func() int64 {
			c, _ := geo.CellAt(113.8+rng.Float64()*0.5, 22.4+rng.Float64()*0.3, geo.StorageRes)
			return c
		}},
		{"few cells", func() int64 { return 0x8c4b9a2b1a5c1ff + int64(rng.IntN(3))<<9 }},
		{"one cell", func() int64 { return 0x8c4b9a2b1a5c1ff }},
		{"any int64", func() int64 { return int64(rng.Uint64()) }},
		{"small signed", func() int64 { return rng.Int64N(2000) - 1000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []int{0, 1, 1000, 5000} {
				rows := make([]evRow, n)
				for i := range rows {
					rows[i] = evRow{cell: tc.cell(), id: rng.Int64N(1 << 40), at: int64(i)}
				}
				want := slices.Clone(rows)
				slices.SortFunc(want, compareEvRows)
				sortEvRows(rows)
				if !slices.Equal(rows, want) {
					t.Fatalf("%d rows: radix order differs", n)
				}
			}
		})
	}
}

// TestEventIndexWindow: window bounds as PostgreSQL applies them to timestamptz
// parameters from pgx: from inclusive, to exclusive, nanoseconds dropped, and the
// infinities (which the event triggers refuse, but the column allows) inside
// every window open on their side.
func TestEventIndexWindow(t *testing.T) {
	t1 := time.Date(2026, 10, 2, 3, 0, 0, 0, time.UTC)
	t2 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	m1, m2 := pgMicros(t1), pgMicros(t2)
	cell, _ := geo.CellAt(114.0125, 22.54, geo.StorageRes)
	var rows []evRow
	for i, at := range []int64{math.MinInt64, m1 - 1, m1, m1 + 1, m2 - 1, m2, math.MaxInt64} {
		rows = append(rows, evRow{cell: cell, id: int64(i + 1), at: at, st: 0})
	}
	ix := fromRows(rows, []string{"01"}, Statuses)
	ns := time.Nanosecond
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     int64
	}{
		{"none", time.Time{}, time.Time{}, 7},
		{"from", t1, time.Time{}, 5},
		{"to", time.Time{}, t2, 5},
		{"from to", t1, t2, 3},
		{"from inside its microsecond", t1.Add(999 * ns), time.Time{}, 5},
		{"to inside its microsecond", time.Time{}, t2.Add(999 * ns), 5},
		{"to a microsecond later", time.Time{}, t2.Add(1000 * ns), 6},
		{"empty", t2, t1, 0},
	} {
		q := ix.query(Filter{From: tc.from, To: tc.to}, nil)
		if got, open := ix.count(0, int32(len(rows)), &q); got != tc.want || open != tc.want {
			t.Errorf("%s: %d events (%d open), want %d", tc.name, got, open, tc.want)
		}
	}
}

// BenchmarkEventIndexCount draws a whole-city z8 tile (resolution 6) from a
// synthetic index of a million events over a year, 186 categories: the scan of
// every entry, for filters of different selectivity.
func BenchmarkEventIndexCount(b *testing.B) {
	ix, _, _ := syntheticIndex(b)
	tile := geo.TileAt(114.05, 22.55, 8)
	for _, tc := range []struct {
		name string
		f    Filter
	}{
		{"category", Filter{Category: "02"}},
		{"month", Filter{From: time.Date(2026, 10, 2, 3, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)}},
		{"half", Filter{From: time.Date(2026, 5, 2, 3, 0, 0, 0, time.UTC)}},
		{"both", Filter{Category: "02", From: time.Date(2026, 10, 2, 3, 0, 0, 0, time.UTC), Status: []string{"reported"}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var feats []h3Feature
			for b.Loop() {
				feats, _ = ix.cells(feats[:0], tile, 6, tc.f)
			}
		})
	}
}

// syntheticIndex is a built index of a million events over a year (from
// November 2025) in 50,000 cells of the generated city's area, in 186
// categories whose codes share their first two digits eight ways (so that
// "02" selects an eighth); it returns the cells and category codes too.
func syntheticIndex(b *testing.B) (*evIndex, []int64, []string) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var cells []int64
	for range 50_000 {
		c, _ := geo.CellAt(113.9+rng.Float64()*0.3, 22.45+rng.Float64()*0.2, geo.StorageRes)
		cells = append(cells, c)
	}
	t0 := pgMicros(time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC))
	year := int64(365 * 86400e6)
	cats := make([]string, 186)
	for i := range cats {
		cats[i] = fmt.Sprintf("%02d%04d", i%8, i)
	}
	rows := make([]evRow, 1_000_000)
	for i := range rows {
		rows[i] = evRow{id: int64(i + 1), cell: cells[rng.IntN(len(cells))], at: t0 + rng.Int64N(year), cat: uint16(rng.IntN(len(cats))), st: uint8(rng.IntN(6))}
	}
	ix := fromRows(rows, cats, Statuses)
	if err := ix.build(nil); err != nil {
		b.Fatal(err)
	}
	return ix, cells, cats
}
