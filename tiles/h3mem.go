package tiles

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/sdc"
)

// The H3 layers are drawn from their aggregate tables (tile_event_h3 by cell and
// status, tile_household_h3 by cell), which are small: a 1,000,000-household city
// has about 53,000 event rows and 70,000 household rows over all resolutions,
// against a million events and households. The service holds them in memory, read
// in one transaction together with the layer's version, and reads them again when
// a request arrives with a newer version (a write committed, see versions). A
// tile then needs no database round trip: finding its cells and drawing them
// costs a fraction of what the query alone did, and the whole-city zooms, where a
// tile holds a thousand cells, were the slowest of the service.
//
// Filters the aggregates cannot answer (a time window or a category) are answered
// from the event index (evindex.go).

// h3Point is one cell of an aggregate at one resolution, found by its
// representative point (Web Mercator metres), as the SQL did with rep && envelope.
type h3Point struct {
	x, y float64
	cell int64
	i    int32    // index of the cell's data in the snapshot
	ring orb.Ring // the cell's outline (boundaries), looked up once per snapshot
}

// h3Grid is the cells of one resolution, sorted by x for range search.
type h3Grid []h3Point

// in calls f for every cell whose representative point lies in b (edges included).
func (g h3Grid) in(minX, minY, maxX, maxY float64, f func(p *h3Point)) {
	i := sort.Search(len(g), func(i int) bool { return g[i].x >= minX })
	for ; i < len(g) && g[i].x <= maxX; i++ {
		if p := &g[i]; p.y >= minY && p.y <= maxY {
			f(p)
		}
	}
}

// index sorts the cells for in and attaches the outlines they lack.
func (g h3Grid) index() {
	for i := range g {
		if g[i].ring == nil {
			g[i].ring = boundaries.get(g[i].cell)
		}
	}
	slices.SortFunc(g, func(a, b h3Point) int {
		switch {
		case a.x < b.x:
			return -1
		case a.x > b.x:
			return 1
		}
		return cmp.Compare(a.cell, b.cell)
	})
}

// maxRes bounds the resolutions kept (ResolutionForZoom never asks for more).
const maxRes = 15

// eventsSnap is tile_event_h3 as of one version of the events_h3 layer.
type eventsSnap struct {
	version  int64
	statuses []string // status names; counts are indexed like them
	open     []bool   // statuses counted as open
	byRes    [maxRes + 1]h3Grid
	counts   [][]int32 // per cell (h3Point.i): count per status
	props    [][]prop  // per cell: the unfiltered properties
}

// householdsSnap is tile_household_h3 as of one version of households_h3, its
// figures as the disclosure-control rule releases them (package sdc): cells
// whose households are below the threshold left out, the others' households,
// people and tag counts rounded to multiples of the base, tag counts below the
// threshold left out.
type householdsSnap struct {
	version int64
	byRes   [maxRes + 1]h3Grid
	props   [][]prop
}

// snapshot holds the latest read of one in-memory layer (H3 aggregates here,
// outlines in unitmem.go); one read at a time, readers of a fresh one never wait.
type snapshot[T any] struct {
	mu  sync.Mutex
	cur atomic.Pointer[T]
}

// get returns the current value if fresh says it is recent enough, else what read
// makes of it (read gets the current value, nil at first, to reuse its parts).
func (s *snapshot[T]) get(fresh func(*T) bool, read func(old *T) (*T, error)) (*T, error) {
	if v := s.cur.Load(); v != nil && fresh(v) {
		return v, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur.Load()
	if old != nil && fresh(old) {
		return old, nil
	}
	v, err := read(old)
	if err != nil {
		return nil, err
	}
	s.cur.Store(v)
	return v, nil
}

// h3Store loads the H3 snapshots on demand.
type h3Store struct {
	pool *pgxpool.Pool
	rule sdc.Rule
	ev   snapshot[eventsSnap]
	hh   snapshot[householdsSnap]
}

// events returns a snapshot of version want or newer.
func (st *h3Store) events(ctx context.Context, want int64) (*eventsSnap, error) {
	return st.ev.get(func(s *eventsSnap) bool { return s.version >= want }, func(*eventsSnap) (*eventsSnap, error) {
		s, err := loadEventsSnap(ctx, st.pool)
		if err != nil {
			return nil, fmt.Errorf("read tile_event_h3: %w", err)
		}
		return s, nil
	})
}

// households returns a snapshot of version want or newer.
func (st *h3Store) households(ctx context.Context, want int64) (*householdsSnap, error) {
	return st.hh.get(func(s *householdsSnap) bool { return s.version >= want }, func(*householdsSnap) (*householdsSnap, error) {
		s, err := loadHouseholdsSnap(ctx, st.pool, st.rule)
		if err != nil {
			return nil, fmt.Errorf("read tile_household_h3: %w", err)
		}
		return s, nil
	})
}

// readSnapshot runs read in one read-only repeatable-read transaction that
// carries the identity of sc (scope.System for the whole city's snapshots, a
// jurisdiction's reader for its view), so that the layer versions it reads
// (layerVersion) and the data belong together and row-level security decides
// what the data is.
func readSnapshot(ctx context.Context, pool *pgxpool.Pool, sc scope.Scope, read func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := scope.Apply(ctx, tx, sc); err != nil {
			return err
		}
		// A jurisdiction's rows are a range of the code index (the tile pool
		// turns bitmap scans off for its per-tile queries).
		if _, err := tx.Exec(ctx, "SET LOCAL enable_bitmapscan = on"); err != nil {
			return err
		}
		return read(tx)
	})
}

// layerVersion reads one row of tile_layer_version (0 if it has none).
func layerVersion(ctx context.Context, tx pgx.Tx, layer string) (v int64, err error) {
	err = tx.QueryRow(ctx, "SELECT coalesce((SELECT version FROM tile_layer_version WHERE layer = $1), 0)", layer).Scan(&v)
	return v, err
}

func loadEventsSnap(ctx context.Context, pool *pgxpool.Pool) (*eventsSnap, error) {
	s := &eventsSnap{}
	err := readSnapshot(ctx, pool, scope.System(), func(tx pgx.Tx) (err error) {
		if s.version, err = layerVersion(ctx, tx, "events_h3"); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, "SELECT res, cell, status, n, ST_X(rep), ST_Y(rep) FROM tile_event_h3 WHERE rep IS NOT NULL ORDER BY res, cell")
		statusIdx := map[string]int{}
		var res int16
		var cell int64
		var status string
		var n int32
		var x, y float64
		lastRes, lastCell := int16(-1), int64(0)
		_, err = pgx.ForEachRow(rows, []any{&res, &cell, &status, &n, &x, &y}, func() error {
			if res < 0 || res > maxRes {
				return nil
			}
			si, ok := statusIdx[status]
			if !ok {
				si = len(s.statuses)
				statusIdx[status] = si
				s.statuses = append(s.statuses, status)
				s.open = append(s.open, slices.Contains(openStatuses, status))
			}
			if res != lastRes || cell != lastCell {
				lastRes, lastCell = res, cell
				s.byRes[res] = append(s.byRes[res], h3Point{x: x, y: y, cell: cell, i: int32(len(s.counts))})
				s.counts = append(s.counts, nil)
			}
			c := &s.counts[len(s.counts)-1]
			for len(*c) <= si {
				*c = append(*c, 0)
			}
			(*c)[si] += n
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	for r := range s.byRes {
		s.byRes[r].index()
	}
	s.setProps()
	return s, nil
}

// sum returns a cell's events and open events over the statuses in want (nil:
// all), as the SQL's sum(n) and sum(n) FILTER (open) with status = ANY (want).
func (s *eventsSnap) sum(i int32, want []bool) (events, open int64) {
	for si, n := range s.counts[i] {
		if want != nil && !want[si] {
			continue
		}
		events += int64(n)
		if s.open[si] {
			open += int64(n)
		}
	}
	return events, open
}

func eventsProps(cell int64, res int, events, open int64) []prop {
	return []prop{uniqueProp("cell", geo.CellString(cell)), numProp("res", int64(res)), numProp("events", events), numProp("open", open)}
}

// cells appends the features of tile t at resolution res with statuses (none:
// all) to feats.
func (s *eventsSnap) cells(feats []h3Feature, t geo.Tile, res int, statuses []string) []h3Feature {
	var want []bool
	if len(statuses) > 0 {
		want = make([]bool, len(s.statuses))
		for i, name := range s.statuses {
			want[i] = slices.Contains(statuses, name)
		}
	}
	minX, minY, maxX, maxY := h3Window(t, res)
	s.byRes[res].in(minX, minY, maxX, maxY, func(p *h3Point) {
		if want == nil {
			if events, _ := s.sum(p.i, nil); events > 0 {
				feats = append(feats, h3Feature{cell: p.cell, ring: p.ring, props: s.props[p.i]})
			}
			return
		}
		if events, open := s.sum(p.i, want); events > 0 {
			feats = append(feats, h3Feature{cell: p.cell, ring: p.ring, props: eventsProps(p.cell, res, events, open)})
		}
	})
	return feats
}

func loadHouseholdsSnap(ctx context.Context, pool *pgxpool.Pool, rule sdc.Rule) (*householdsSnap, error) {
	s := &householdsSnap{}
	err := readSnapshot(ctx, pool, scope.System(), func(tx pgx.Tx) (err error) {
		if s.version, err = layerVersion(ctx, tx, "households_h3"); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT res, cell, households, people, hkey, tag_names, tag_counts, tag_keys, ST_X(rep), ST_Y(rep)
			FROM tile_household_h3 WHERE households >= $1 AND rep IS NOT NULL`, rule.K())
		var res int16
		var cell int64
		var households, people int32
		var hkey int64
		var tags []string
		var counts []int32
		var keys []int64
		var x, y float64
		_, err = pgx.ForEachRow(rows, []any{&res, &cell, &households, &people, &hkey, &tags, &counts, &keys, &x, &y}, func() error {
			if res < 0 || res > maxRes {
				return nil
			}
			c := hhCount{households: int64(households), people: int64(people), key: hkey, tags: tags, counts: make([]int64, len(tags)), keys: make([]int64, len(tags))}
			for i := range tags {
				if i < len(counts) && i < len(keys) {
					c.counts[i], c.keys[i] = int64(counts[i]), keys[i]
				}
			}
			if p := householdProps(cell, int(res), &c, rule); p != nil {
				s.byRes[res] = append(s.byRes[res], h3Point{x: x, y: y, cell: cell, i: int32(len(s.props))})
				s.props = append(s.props, p)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	s.finish()
	return s, nil
}

// finish indexes the snapshot's cells by resolution and numbers its values, once
// all are read.
func (s *householdsSnap) finish() {
	for r := range s.byRes {
		s.byRes[r].index()
	}
	var d valueDict
	for _, p := range s.props {
		d.number(p)
	}
}

// hhCount is what one households_h3 cell counts: households, their members, and
// the households carrying each tag (tags sorted, as tile_household_h3 keeps
// them), each with the sum of the record keys of the households it counts.
type hhCount struct {
	households, people int64
	key                int64
	tags               []string
	counts, keys       []int64
}

// householdProps is the one place where what a households_h3 cell shows of its
// counts is decided, for the whole city's roll-up and a jurisdiction's own rows
// alike, by the disclosure-control rule: nil leaves the cell out (fewer
// households than the threshold); the other figures are released values, and
// a tag count under the threshold is left out (it could single out a household).
func householdProps(cell int64, res int, c *hhCount, rule sdc.Rule) []prop {
	hh, ok := rule.Count(c.households, c.key, sdc.Households)
	if !ok {
		return nil
	}
	p := make([]prop, 4, 4+len(c.tags))
	p[0], p[1] = uniqueProp("cell", geo.CellString(cell)), numProp("res", int64(res))
	p[2], p[3] = numProp("households", hh), numProp("people", rule.Round(c.people, c.key, sdc.People))
	for i, tag := range c.tags {
		if n, ok := rule.Count(c.counts[i], c.keys[i], sdc.Tagged); ok {
			p = append(p, numProp("tag_"+tag, n))
		}
	}
	return p
}

// householdMinRes and householdMaxRes bound the resolutions households_h3 draws
// (those tile_household_h3 keeps).
const householdMinRes, householdMaxRes = 6, 11

// sizeofProp is the size of a prop (strings and the raw slice as headers).
const sizeofProp = 80

// loadHouseholdsRaw counts a jurisdiction's household rows per H3 cell at
// resolutions 6..11, as tile_household_h3 does for the whole city (which
// answers only whole-city scopes): read under the jurisdiction's reader, so
// row-level security leaves out every household outside it. Cells are found by
// their centre (any point in a cell does, h3Margin being wider than a cell).
func loadHouseholdsRaw(ctx context.Context, pool *pgxpool.Pool, reader scope.Scope, rule sdc.Rule) (*householdsSnap, error) {
	s := &householdsSnap{}
	type agg struct {
		households, people, key int64
		tags, keys              []int64 // by index into names
	}
	var names []string
	tagIdx := map[string]int{}
	finest := map[int64]*agg{}
	err := readSnapshot(ctx, pool, reader, func(tx pgx.Tx) (err error) {
		if s.version, err = layerVersion(ctx, tx, "households_h3"); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT h3, members, tags, sdc_record_key(id, (SELECT seed FROM sdc_secret)) FROM household WHERE h3 IS NOT NULL`)
		var h3 int64
		var members, key int32
		var tags []string
		_, err = pgx.ForEachRow(rows, []any{&h3, &members, &tags, &key}, func() error {
			cell := geo.ParentBits(h3, householdMaxRes)
			if cell == 0 {
				return nil
			}
			a := finest[cell]
			if a == nil {
				a = &agg{}
				finest[cell] = a
			}
			a.households++
			a.people += int64(members)
			a.key += int64(key)
			for _, tag := range tags {
				i, ok := tagIdx[tag]
				if !ok {
					i = len(names)
					tagIdx[tag] = i
					names = append(names, tag)
				}
				for len(a.tags) <= i {
					a.tags = append(a.tags, 0)
					a.keys = append(a.keys, 0)
				}
				a.tags[i]++
				a.keys[i] += int64(key)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	order := make([]int, len(names)) // tag indexes in name order
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(names[a], names[b]) })
	level := finest
	for res := householdMaxRes; res >= householdMinRes; res-- {
		coarser := map[int64]*agg{}
		for cell, a := range level {
			var c hhCount
			c.households, c.people, c.key = a.households, a.people, a.key
			for _, i := range order {
				if i < len(a.tags) && a.tags[i] > 0 {
					c.tags = append(c.tags, names[i])
					c.counts = append(c.counts, a.tags[i])
					c.keys = append(c.keys, a.keys[i])
				}
			}
			if p := householdProps(cell, res, &c, rule); p != nil {
				ll := geo.CellCenter(cell)
				x, y := geo.LonLatToMercator(ll[0], ll[1])
				s.byRes[res] = append(s.byRes[res], h3Point{x: x, y: y, cell: cell, i: int32(len(s.props))})
				s.props = append(s.props, p)
			}
			if res > householdMinRes {
				parent := geo.ParentBits(cell, res-1)
				pa := coarser[parent]
				if pa == nil {
					pa = &agg{}
					coarser[parent] = pa
				}
				pa.households += a.households
				pa.people += a.people
				pa.key += a.key
				for len(pa.tags) < len(a.tags) {
					pa.tags = append(pa.tags, 0)
					pa.keys = append(pa.keys, 0)
				}
				for i, n := range a.tags {
					pa.tags[i] += n
					pa.keys[i] += a.keys[i]
				}
			}
		}
		level = coarser
	}
	s.finish()
	return s, nil
}

// bytes is about what the snapshot holds (outlines are shared with boundaries).
func (s *householdsSnap) bytes() int64 {
	n := int64(0)
	for _, g := range s.byRes {
		n += int64(len(g)) * sizeofH3Point
	}
	for _, p := range s.props {
		n += 24 + int64(cap(p))*sizeofProp
	}
	return n
}

// bytes is about what the snapshot holds.
func (s *eventsSnap) bytes() int64 {
	n := int64(0)
	for _, g := range s.byRes {
		n += int64(len(g)) * sizeofH3Point
	}
	for i := range s.counts {
		n += 24 + int64(cap(s.counts[i]))*4 + 24 + int64(cap(s.props[i]))*sizeofProp
	}
	return n
}

// setProps makes each cell's properties from its counts, once all are counted
// (the cells indexed), and numbers their values.
func (s *eventsSnap) setProps() {
	s.props = make([][]prop, len(s.counts))
	var d valueDict
	for r := range s.byRes {
		for _, p := range s.byRes[r] {
			events, open := s.sum(p.i, nil)
			s.props[p.i] = eventsProps(p.cell, r, events, open)
			d.number(s.props[p.i])
		}
	}
}

// eventsSnapFromIndex counts the events of an index per cell and status at the
// resolutions events_h3 draws: a jurisdiction's tile_event_h3 (which answers only
// whole-city scopes). The cells are the index's own.
func eventsSnapFromIndex(ix *evIndex) *eventsSnap {
	s := &eventsSnap{version: ix.version, statuses: ix.statuses, open: ix.open}
	for _, r := range evResolutions {
		c := &ix.byRes[r]
		base := int32(len(s.counts))
		for k := range c.cells {
			n := make([]int32, len(ix.statuses))
			for _, st := range ix.st[c.start[k]:c.start[k+1]] {
				n[st]++
			}
			s.counts = append(s.counts, n)
		}
		g := make(h3Grid, len(c.grid))
		for j, p := range c.grid {
			g[j] = p
			g[j].i = base + p.i
		}
		s.byRes[r] = g // already in the order h3Grid.in expects
	}
	s.setProps()
	return s
}

// valueDict numbers the distinct property keys (kid) and values (gid) of one
// snapshot, from 1, so that drawing a tile finds them in the encoder by number
// instead of hashing each (a third of drawing a households_h3 tile). Unique
// values (cells) are left unnumbered: they are never looked up.
type valueDict struct {
	ids  map[valueKey]uint32
	keys map[string]uint32
}

type valueKey struct {
	str                string
	num                int64
	isStr, bool, float bool
}

// number gives each prop of ps its key's kid and its value's gid.
func (d *valueDict) number(ps []prop) {
	if d.ids == nil {
		d.ids, d.keys = map[valueKey]uint32{}, map[string]uint32{}
	}
	for i := range ps {
		p := &ps[i]
		kid, ok := d.keys[p.key]
		if !ok {
			kid = uint32(len(d.keys) + 1)
			d.keys[p.key] = kid
		}
		p.kid = kid
		if p.unique || p.raw != nil {
			continue
		}
		k := valueKey{str: p.str, num: p.num, isStr: p.isStr, bool: p.isBool, float: p.isFloat}
		id, ok := d.ids[k]
		if !ok {
			id = uint32(len(d.ids) + 1)
			d.ids[k] = id
		}
		p.gid = id
	}
}

// cells appends the features of tile t at resolution res to feats.
func (s *householdsSnap) cells(feats []h3Feature, t geo.Tile, res int) []h3Feature {
	minX, minY, maxX, maxY := h3Window(t, res)
	s.byRes[res].in(minX, minY, maxX, maxY, func(p *h3Point) {
		feats = append(feats, h3Feature{cell: p.cell, ring: p.ring, props: s.props[p.i]})
	})
	return feats
}

// h3Window is the tile's Web Mercator envelope widened by h3Margin: cells whose
// representative point lies in it may reach the tile (ST_Expand(ST_TileEnvelope)).
func h3Window(t geo.Tile, res int) (minX, minY, maxX, maxY float64) {
	b := t.MercatorBound()
	m := h3Margin(t, res)
	return b.Min[0] - m, b.Min[1] - m, b.Max[0] + m, b.Max[1] + m
}
