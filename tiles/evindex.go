package tiles

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
)

// A time window or a category is a filter tile_event_h3 cannot answer (it counts
// events per cell and status over all time), and grouping the event rows per tile
// cost PostgreSQL up to 150 ms for a whole-city tile of a year's category. So the
// service also holds the event rows themselves, the few columns events_h3 filters
// on, as an event index: 27 bytes an event (28 MB with its cell lists for a
// million), sorted by the event's resolution-12 H3 cell. H3 indexes write their
// digits coarse to fine, so the events of any coarser cell are one contiguous run;
// for each resolution events_h3 draws the index keeps its cells (with a point to
// find them by, as h3Grid) and where each cell's run starts. A tile lists the
// cells whose point lies within h3Window and counts, per cell, the events of its
// run that pass the filter: a whole-city z8 tile scans the whole index, 1-2 ms
// for a million events.
//
// The index is read in one repeatable-read transaction together with the
// events_h3 layer version and the transaction snapshot's xmin, and brought up to
// date when a request arrives with a newer version (a committed write) by reading
// only the rows written since (evStore.refresh), so it answers exactly what the
// per-tile query would have answered from the same snapshot.

// evIndex is the event table as of one snapshot. It is never changed once
// published: a refresh builds a new one (sharing what did not change), while
// requests go on reading the old.
type evIndex struct {
	version int64  // events_h3 layer version of the snapshot
	xmin    uint64 // the snapshot's xmin (pg_snapshot_xmin), a 64-bit transaction id

	// One entry per event, sorted by (cell, id).
	id   []int64
	cell []int64  // event.h3, the resolution-12 cell
	at   []int64  // reported_at in microseconds since 2000-01-01 UTC, as PostgreSQL keeps timestamptz
	cat  []uint16 // index into cats
	st   []uint8  // index into statuses
	// maxID is the largest id in the index (0 if empty): a changed row with a
	// larger id is new.
	maxID int64

	cats     []string // category codes
	statuses []string // status names
	open     []bool   // per status: counted as open

	byRes [maxRes + 1]evCells // the resolutions events_h3 draws (evResolutions)

	coarse *coarseSnaps // all-time counts for callers who see some categories coarsened (sensitive.go)
}

// evCells is the cells of one resolution that hold events.
type evCells struct {
	cells []int64 // ascending
	start []int32 // events of cells[k] are the entries [start[k], start[k+1]); len(cells)+1 entries
	grid  h3Grid  // the cells by the x of their centre (Web Mercator); h3Point.i indexes cells
}

// evResolutions are the resolutions events_h3 draws (ResolutionForZoom over its
// zoom band), ascending.
var evResolutions = func() []int {
	var rs []int
	for _, l := range layers {
		for z := l.MinZoom; z <= l.MaxZoom && l.kind == kindEventsH3; z++ {
			if r := geo.ResolutionForZoom(z); !slices.Contains(rs, r) {
				rs = append(rs, r)
			}
		}
	}
	slices.Sort(rs)
	return rs
}()

// evRow is one event as read.
type evRow struct {
	cell, id, at int64
	cat          uint16
	st           uint8
}

func compareEvRows(a, b evRow) int {
	if c := cmp.Compare(a.cell, b.cell); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// evQuery is a Filter in the index's terms.
type evQuery struct {
	// window says whether reported_at is bounded: then in [from, from+span),
	// microseconds since 2000, tested by one unsigned comparison,
	// uint64(at-from) < span.
	window bool
	from   int64
	span   uint64
	// pass holds, per category and status (cat*nst + st), 1 if both pass the
	// filter, plus 2 if the status is open.
	pass []uint8
	nst  int
}

// query translates f, leaving out the categories masked says (nil: none; else
// one flag per entry of cats). Window bounds become microseconds as pgx sends them to
// PostgreSQL (the nanoseconds truncated), so an event on a bound is in or out
// exactly as in SQL; 'infinity' is the largest int64 and '-infinity' the
// smallest, as in PostgreSQL, so they are in or out as there too.
func (ix *evIndex) query(f Filter, masked []bool) evQuery {
	q := evQuery{nst: len(ix.statuses), pass: make([]uint8, len(ix.cats)*len(ix.statuses))}
	switch {
	case f.From.IsZero() && f.To.IsZero():
	case f.To.IsZero():
		// [from, 'infinity'], from a real time (year 1900 or later).
		q.window, q.from = true, pgMicros(f.From)
		q.span = uint64(math.MaxInt64) - uint64(q.from) + 1
	default:
		q.window, q.from = true, math.MinInt64
		if !f.From.IsZero() {
			q.from = pgMicros(f.From)
		}
		if to := pgMicros(f.To); to > q.from {
			q.span = uint64(to) - uint64(q.from) // the true difference, below 2^64
		}
	}
	for c, code := range ix.cats {
		if !strings.HasPrefix(code, f.Category) { // starts_with on a COLLATE "C" column: bytes
			continue
		}
		if masked != nil && masked[c] {
			continue
		}
		for s, name := range ix.statuses {
			if len(f.Status) > 0 && !slices.Contains(f.Status, name) {
				continue
			}
			q.pass[c*q.nst+s] = 1
			if ix.open[s] {
				q.pass[c*q.nst+s] = 3
			}
		}
	}
	return q
}

// pgMicros is t as a timestamptz parameter: microseconds since 2000-01-01 UTC,
// the nanoseconds dropped (pgx's encoding, binary and text alike).
func pgMicros(t time.Time) int64 {
	return t.Unix()*1_000_000 + int64(t.Nanosecond())/1000 - pgEpochUnixMicro
}

// count returns the events of entries [lo, hi) that pass q, and how many of them
// are open: about 1.5 ms for a million entries. Without a branch on an entry,
// whose outcomes a filter makes random along the index (a branch on the window
// cost 4.5 ms for a window that holds half the events).
func (ix *evIndex) count(lo, hi int32, q *evQuery) (events, open int64) {
	cat, st := ix.cat[lo:hi], ix.st[lo:hi]
	st = st[:len(cat)]
	var n, o uint64
	if !q.window {
		for i, c := range cat {
			m := q.pass[int(c)*q.nst+int(st[i])]
			n += uint64(m & 1)
			o += uint64(m >> 1)
		}
		return int64(n), int64(o)
	}
	at := ix.at[lo:hi]
	at = at[:len(cat)]
	for i, c := range cat {
		_, in := bits.Sub64(uint64(at[i]-q.from), q.span, 0) // the borrow: 1 inside the window
		m := q.pass[int(c)*q.nst+int(st[i])] & uint8(-in)
		n += uint64(m & 1)
		o += uint64(m >> 1)
	}
	return int64(n), int64(o)
}

// cells appends the features of tile t at resolution res for filter f to feats.
func (ix *evIndex) cells(feats []h3Feature, t geo.Tile, res int, f Filter) ([]h3Feature, error) {
	return ix.cellsMasked(feats, t, res, f, nil)
}

// cellsMasked is cells for a caller who sees the events of some categories
// (masked: one flag per entry of cats, nil for none) only coarsened: at
// resolutions finer than CoarseRes they count in the centre child of their
// CoarseRes cell instead of their own cell (see sensitive.go).
func (ix *evIndex) cellsMasked(feats []h3Feature, t geo.Tile, res int, f Filter, masked []bool) ([]h3Feature, error) {
	c := &ix.byRes[res]
	if c.start == nil {
		return feats, fmt.Errorf("event index: resolution %d not indexed", res)
	}
	if res <= CoarseRes || !slices.Contains(masked, true) {
		masked = nil // a cell this coarse places nothing more precisely than CoarseRes
	}
	q := ix.query(f, masked)
	minX, minY, maxX, maxY := h3Window(t, res)
	first := len(feats)
	c.grid.in(minX, minY, maxX, maxY, func(p *h3Point) {
		if events, open := ix.count(c.start[p.i], c.start[p.i+1], &q); events > 0 {
			feats = append(feats, h3Feature{cell: p.cell, ring: p.ring, props: eventsProps(p.cell, res, events, open)})
		}
	})
	if masked == nil {
		return feats, nil
	}
	// The masked categories alone, per CoarseRes cell whose centre (its centre
	// child's) lies in the window, added to that centre child.
	only := make([]bool, len(masked))
	for i, m := range masked {
		only[i] = !m
	}
	qm := ix.query(f, only)
	cc := &ix.byRes[CoarseRes]
	if cc.start == nil {
		return feats, fmt.Errorf("event index: resolution %d not indexed", CoarseRes)
	}
	at := map[int64]int{}
	for i := first; i < len(feats); i++ {
		at[feats[i].cell] = i
	}
	cc.grid.in(minX, minY, maxX, maxY, func(p *h3Point) {
		events, open := ix.count(cc.start[p.i], cc.start[p.i+1], &qm)
		if events == 0 {
			return
		}
		child := centreChild(p.cell, res)
		if i, ok := at[child]; ok {
			e, o := feats[i].props[2].num, feats[i].props[3].num
			feats[i].props = eventsProps(child, res, e+events, o+open)
			return
		}
		at[child] = len(feats)
		feats = append(feats, h3Feature{cell: child, props: eventsProps(child, res, events, open)})
	})
	return feats, nil
}

// idsIn appends to ids the events that pass q in the CoarseRes cells whose
// centres lie in [minX, maxX] × [minY, maxY] (Web Mercator, edges included): the
// events a tile draws at their CoarseRes cell's centre.
func (ix *evIndex) idsIn(ids []int64, minX, minY, maxX, maxY float64, q *evQuery) ([]int64, error) {
	cc := &ix.byRes[CoarseRes]
	if cc.start == nil {
		return ids, fmt.Errorf("event index: resolution %d not indexed", CoarseRes)
	}
	cc.grid.in(minX, minY, maxX, maxY, func(p *h3Point) {
		for e := cc.start[p.i]; e < cc.start[p.i+1]; e++ {
			m := q.pass[int(ix.cat[e])*q.nst+int(ix.st[e])]
			if q.window {
				if _, in := bits.Sub64(uint64(ix.at[e]-q.from), q.span, 0); in == 0 {
					continue
				}
			}
			if m&1 != 0 {
				ids = append(ids, ix.id[e])
			}
		}
	})
	return ids, nil
}

// bytes is the memory the index holds: its columns and cell lists (the outlines
// are shared with boundaries and the aggregate snapshot), and the coarsened
// counts made of it so far.
func (ix *evIndex) bytes() int {
	n := len(ix.id)*(8+8+8+2+1) + len(ix.cats)*16
	for _, c := range ix.byRes {
		n += len(c.cells)*8 + len(c.start)*4 + len(c.grid)*int(sizeofH3Point)
	}
	return n + int(ix.coarse.bytes())
}

const sizeofH3Point = 8 + 8 + 8 + 8 + 24 // x, y, cell, i (padded), ring header

// build computes the cell lists from the sorted columns, reusing old's where the
// cells of a resolution did not change (old may be nil).
func (ix *evIndex) build(old *evIndex) error {
	if len(ix.id) >= math.MaxInt32 {
		return fmt.Errorf("event index: %d events, more than it can hold", len(ix.id))
	}
	// The finest resolution from the entries, each coarser one from the next finer.
	var finer *evCells
	for k := len(evResolutions) - 1; k >= 0; k-- {
		r := evResolutions[k]
		c := &ix.byRes[r]
		if finer == nil {
			for i, cell := range ix.cell {
				if p := geo.ParentBits(cell, r); len(c.cells) == 0 || c.cells[len(c.cells)-1] != p {
					c.cells = append(c.cells, p)
					c.start = append(c.start, int32(i))
				}
			}
		} else {
			for i, cell := range finer.cells {
				if p := geo.ParentBits(cell, r); len(c.cells) == 0 || c.cells[len(c.cells)-1] != p {
					c.cells = append(c.cells, p)
					c.start = append(c.start, finer.start[i])
				}
			}
		}
		c.start = append(c.start, int32(len(ix.id)))
		var prev *evCells
		if old != nil {
			prev = &old.byRes[r]
		}
		c.grid = cellGrid(c.cells, prev)
		finer = c
	}
	return nil
}

// cellGrid returns the grid of cells, taking the points of cells prev already has
// from it (prev may be nil). Cells are found by their centre: any point inside a
// cell would do, as h3Margin is wider than a cell.
func cellGrid(cells []int64, prev *evCells) h3Grid {
	if prev != nil && slices.Equal(cells, prev.cells) {
		return prev.grid // h3Point.i indexes the same cells
	}
	var old map[int64]*h3Point
	if prev != nil {
		old = make(map[int64]*h3Point, len(prev.grid))
		for i := range prev.grid {
			old[prev.grid[i].cell] = &prev.grid[i]
		}
	}
	g := make(h3Grid, len(cells))
	for k, cell := range cells {
		if p, ok := old[cell]; ok {
			g[k] = *p
		} else {
			ll := geo.CellCenter(cell)
			g[k].x, g[k].y = geo.LonLatToMercator(ll[0], ll[1])
			g[k].cell = cell
		}
		g[k].i = int32(k)
	}
	g.index()
	return g
}

// merge returns a new index: old with the entries of the ids in delta replaced by
// delta's rows (delta is sorted by compareEvRows).
func (old *evIndex) merge(delta []evRow, cats, statuses []string) *evIndex {
	ix := &evIndex{cats: cats, statuses: statuses, open: openOf(statuses), maxID: old.maxID, coarse: &coarseSnaps{}}
	// The old entries of changed rows: ids not above old.maxID, looked up only
	// within the range of those ids (a map lookup per entry cost 6 ms a million).
	drop := map[int64]bool{}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, d := range delta {
		if d.id <= old.maxID {
			drop[d.id] = true
			lo, hi = min(lo, d.id), max(hi, d.id)
		}
		ix.maxID = max(ix.maxID, d.id)
	}
	var drops []int32 // positions, ascending
	if len(drop) > 0 {
		for i, id := range old.id {
			if id >= lo && id <= hi && drop[id] {
				drops = append(drops, int32(i))
			}
		}
	}
	n := len(old.id) - len(drops) + len(delta)
	ix.id, ix.cell, ix.at = make([]int64, n), make([]int64, n), make([]int64, n)
	ix.cat, ix.st = make([]uint16, n), make([]uint8, n)
	w, j := 0, 0
	emit := func(r evRow) {
		ix.id[w], ix.cell[w], ix.at[w], ix.cat[w], ix.st[w] = r.id, r.cell, r.at, r.cat, r.st
		w++
	}
	// Runs of old entries between the insertion points of delta rows and the
	// dropped entries are copied whole.
	copyRun := func(a, b int) {
		copy(ix.id[w:], old.id[a:b])
		copy(ix.cell[w:], old.cell[a:b])
		copy(ix.at[w:], old.at[a:b])
		copy(ix.cat[w:], old.cat[a:b])
		copy(ix.st[w:], old.st[a:b])
		w += b - a
	}
	i := 0
	for i < len(old.id) || j < len(delta) {
		// The next old position at which something happens.
		next := len(old.id)
		if len(drops) > 0 {
			next = int(drops[0])
		}
		if j < len(delta) {
			d := delta[j]
			at := i + sort.Search(next-i, func(k int) bool {
				return compareEvRows(evRow{cell: old.cell[i+k], id: old.id[i+k]}, d) >= 0
			})
			if at < next || at == len(old.id) {
				copyRun(i, at)
				i = at
				emit(d)
				j++
				continue
			}
		}
		copyRun(i, next)
		i = next
		if len(drops) > 0 {
			drops = drops[1:]
			i++
		}
	}
	return ix
}

// evStore keeps the event index of a service, loading it once and refreshing it
// when a request needs a newer version. One load runs at a time; requests wait for
// it (or leave when their context ends: the load goes on for the others and the
// next request), and readers of a fresh index never wait.
type evStore struct {
	pool *pgxpool.Pool
	life context.Context // ends at Close, and any load with it
	log  *slog.Logger
	// as is the identity the index is read under: scope.System for the whole
	// city, a jurisdiction's reader for its view.
	as scope.Scope

	cur atomic.Pointer[evIndex]

	mu      sync.Mutex
	loading *evLoad
	closed  bool
	wg      sync.WaitGroup

	full, incremental atomic.Int64 // loads by each path
}

// evLoad is one load of the index.
type evLoad struct {
	done chan struct{}
	ix   *evIndex
	err  error
	warm bool // started by warm: no request waits for its error
}

// evLoadTimeout bounds one load of the index (a million rows take about a second).
const evLoadTimeout = 2 * time.Minute

// errClosed is returned by a request that needs a load after the service closed.
var errClosed = errors.New("tile service closed")

// warm starts loading the index in the background, so the first filtered request
// finds it ready (or joins the load).
func (st *evStore) warm() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.loading == nil && !st.closed {
		st.startLocked(true)
	}
}

// close ends any load and waits for it.
func (st *evStore) close() {
	st.mu.Lock()
	st.closed = true
	st.mu.Unlock()
	st.wg.Wait()
}

// get returns an index of version want or newer.
func (st *evStore) get(ctx context.Context, want int64) (*evIndex, error) {
	for {
		if ix := st.cur.Load(); ix != nil && ix.version >= want {
			return ix, nil
		}
		st.mu.Lock()
		if ix := st.cur.Load(); ix != nil && ix.version >= want {
			st.mu.Unlock()
			return ix, nil
		}
		l, joined := st.loading, true
		if l == nil {
			if st.closed {
				st.mu.Unlock()
				return nil, errClosed
			}
			l, joined = st.startLocked(false), false
		}
		st.mu.Unlock()
		select {
		case <-l.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		switch {
		case l.err != nil && (!joined || !l.warm):
			return nil, l.err
		case l.err != nil:
			// The warm-up failed (and logged why): try again for this request.
		case l.ix.version >= want:
			return l.ix, nil
		}
		// A load that began before the write this request must see: load again.
	}
}

// startLocked starts a load in the background; st.mu is held.
func (st *evStore) startLocked(warm bool) *evLoad {
	l := &evLoad{done: make(chan struct{}), warm: warm}
	st.loading = l
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		ctx, cancel := context.WithTimeout(st.life, evLoadTimeout)
		ix, err := st.refresh(ctx, st.cur.Load())
		cancel()
		if err != nil {
			err = fmt.Errorf("event index: %w", err)
			if warm && st.life.Err() == nil { // not when the service is closing
				st.log.Warn("event index warm-up failed; the first filtered events_h3 tile loads it", "error", err)
			}
		}
		st.mu.Lock()
		if err == nil {
			st.cur.Store(ix)
		}
		l.ix, l.err = ix, err
		st.loading = nil
		close(l.done)
		st.mu.Unlock()
	}()
	return l
}

// evMaxAge is the oldest xmin an index may be refreshed from incrementally: the
// comparison of 32-bit transaction ids below holds while the ids involved are less
// than 2^31 apart, and a billion leaves room for the transactions that begin
// while the refresh runs.
const evMaxAge = 1_000_000_000

const (
	// evHeadQuery is the first statement of a load: it fixes the snapshot (the
	// transaction is repeatable read) and reads its layer version and xmin, and
	// the age of the previous index's xmin (NULL for none).
	evHeadQuery = `SELECT coalesce((SELECT version FROM tile_layer_version WHERE layer = 'events_h3'), 0),
	pg_snapshot_xmin(pg_current_snapshot()), age($1::xid)`
	evRowsQuery = `SELECT id, h3, reported_at, category_code, status FROM event`
	// evDeltaQuery reads the rows whose xmin is no older than the previous
	// snapshot's, $1 being the age of that xmin (see refresh). It scans the
	// table (95 ms for a million events); count(*) costs less apart (an
	// index-only scan, 40 ms) than in the same scan.
	evDeltaQuery    = evRowsQuery + ` WHERE age(xmin) <= $1`
	evCountQuery    = `SELECT count(*) FROM event`
	evEstimateQuery = `SELECT greatest(reltuples, 0)::int FROM pg_class WHERE oid = 'event'::regclass`
)

// refresh reads the index afresh, or from old (nil: none) and the rows written
// since old's snapshot.
//
// Why the incremental path is exact. Let old hold the rows visible to snapshot
// S0 with xmin x0, and let the refresh's snapshot be S1. Every transaction whose
// writes S0 did not see had not committed when S0 was taken, so its id is x0 or
// newer: a row version visible to S1 that S0 did not see has an xmin at least x0.
// A row version visible to S1 with an older xmin was written by a transaction
// that had ended (committed, as the row is visible) before S0, so S0 saw that very
// version. The delta D, the rows of S1 with xmin not older than x0, therefore
// holds every row of S1 that old lacks or holds in another version (and perhaps
// some unchanged rows: harmless, a row replaces the entry with its id). Dropping
// the entries of D's ids from old and adding D gives S1's rows plus the old rows
// deleted since S0 whose id was not reused; ids are a primary key, so these are
// disjoint and the result has exactly count(*) entries of S1 (same transaction)
// if and only if nothing was deleted. Deletions (and TRUNCATE) therefore show up
// as a count that differs, and the index is then read whole.
//
// The comparison of xmin with x0 is done on 32-bit ids, which is what a row
// holds (PostgreSQL 15 has no ordering of xid, and a row's xmin has no xid8
// form): age(xid) is (int32)(N - xid) where N is fixed for the transaction
// (GetStableLatestTransactionId: a read-only transaction's is the next id to be
// assigned when age is first called, after its snapshot was taken). So every row
// S1 sees has an age of at least 1, and a row written by x0 or later has
// age(xmin) <= age(x0) as long as N - x0 < 2^31 (evMaxAge keeps it under a
// billion, else the index is read whole). age(x0) is read once, in the first
// statement, and passed to the scan. Rows frozen long ago keep their original
// xmin in the xmin column; whatever age they show, a wrong answer only adds an
// unchanged row to D. Special ids (frozen, bootstrap) have age INT_MAX and never
// count as new.
func (st *evStore) refresh(ctx context.Context, old *evIndex) (*evIndex, error) {
	start := time.Now()
	var ix *evIndex
	path, deltaRows := "full", 0
	err := readSnapshot(ctx, st.pool, st.as, func(tx pgx.Tx) error {
		var version int64
		var xmin uint64
		var oldAge *int32
		var oldXid any
		if old != nil {
			oldXid = uint32(old.xmin) // the low 32 bits are the xid
		}
		if err := tx.QueryRow(ctx, evHeadQuery, oldXid).Scan(&version, &xmin, &oldAge); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		ix = nil
		// xmin below old's: another database behind the same address.
		if old != nil && oldAge != nil && *oldAge >= 0 && *oldAge <= evMaxAge && xmin >= old.xmin && xmin-old.xmin <= evMaxAge {
			var err error
			if ix, deltaRows, err = readDelta(ctx, tx, old, *oldAge); err != nil {
				return err
			}
			path = "incremental"
		}
		if ix == nil {
			path = "full"
			var err error
			if ix, err = readAll(ctx, tx, old, st.as.All()); err != nil {
				return err
			}
		}
		ix.version, ix.xmin = version, xmin
		return nil
	})
	if err != nil {
		return nil, err
	}
	if ix.byRes[evResolutions[0]].start == nil { // not built yet (an unchanged index shares old's)
		// Outside the transaction, which has given its connection back. The cell
		// points of old are reused even after a full read: they depend on the cell alone.
		if err := ix.build(old); err != nil {
			return nil, err
		}
	}
	if path == "full" {
		st.full.Add(1)
	} else {
		st.incremental.Add(1)
	}
	level := slog.LevelDebug
	if path == "full" {
		level = slog.LevelInfo // at start, and after deletions
	}
	st.log.LogAttrs(ctx, level, "event index read", slog.String("path", path), slog.Int("events", len(ix.id)),
		slog.Int("changed_rows", deltaRows), slog.Int("bytes", ix.bytes()), slog.Int64("version", ix.version),
		slog.Duration("took", time.Since(start)))
	return ix, nil
}

// readDelta reads the rows changed since old (oldAge: the age of its xmin) and
// merges them into a new index; nil if rows were deleted. It returns the number
// of rows read.
func readDelta(ctx context.Context, tx pgx.Tx, old *evIndex, oldAge int32) (*evIndex, int, error) {
	var n int
	if err := tx.QueryRow(ctx, evCountQuery).Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("count events: %w", err)
	}
	t := newEvTables(old.cats, old.statuses)
	delta, err := scanEvents(ctx, tx, t, nil, evDeltaQuery, oldAge)
	if err != nil {
		return nil, 0, fmt.Errorf("changed events: %w", err)
	}
	if len(delta) == 0 {
		if n != len(old.id) {
			return nil, 0, nil // deletions only
		}
		ix := *old // nothing changed (a statement that touched no row moved the version)
		return &ix, 0, nil
	}
	slices.SortFunc(delta, compareEvRows)
	ix := old.merge(delta, t.cats, t.statuses)
	if len(ix.id) != n {
		return nil, len(delta), nil // rows were deleted
	}
	return ix, len(delta), nil
}

// evTables numbers category codes and statuses, extending copies of an index's tables.
type evTables struct {
	cats, statuses []string
	catIdx, stIdx  map[string]int
}

func newEvTables(cats, statuses []string) *evTables {
	t := &evTables{cats: slices.Clip(cats), statuses: slices.Clip(statuses), catIdx: map[string]int{}, stIdx: map[string]int{}}
	for i, c := range cats {
		t.catIdx[c] = i
	}
	for i, s := range statuses {
		t.stIdx[s] = i
	}
	return t
}

func (t *evTables) category(code []byte) (uint16, error) {
	if i, ok := t.catIdx[string(code)]; ok {
		return uint16(i), nil
	}
	if len(t.cats) > math.MaxUint16 {
		return 0, errors.New("more than 65,536 event categories")
	}
	t.catIdx[string(code)] = len(t.cats)
	t.cats = append(t.cats, string(code)) // clipped: never writes into a published index's table
	return uint16(len(t.cats) - 1), nil
}

func (t *evTables) status(name []byte) (uint8, error) {
	if i, ok := t.stIdx[string(name)]; ok {
		return uint8(i), nil
	}
	if len(t.statuses) > math.MaxUint8 {
		return 0, errors.New("more than 256 event statuses")
	}
	t.stIdx[string(name)] = len(t.statuses)
	t.statuses = append(t.statuses, string(name))
	return uint8(len(t.statuses) - 1), nil
}

// readAll reads every event into a new index (cell lists not built). The rows are
// read into a buffer sized for the events old (nil: none) or, for the whole
// table (whole), the table statistics count: grown by appending, a million
// rows' buffer left 40 MB of garbage.
func readAll(ctx context.Context, tx pgx.Tx, old *evIndex, whole bool) (*evIndex, error) {
	var size int
	if old != nil {
		size = len(old.id)
	} else if !whole {
		size = 1024
	} else if err := tx.QueryRow(ctx, evEstimateQuery).Scan(&size); err != nil {
		return nil, fmt.Errorf("estimate events: %w", err)
	}
	t := newEvTables(nil, Statuses)
	rows, err := scanEvents(ctx, tx, t, make([]evRow, 0, size+size/64+16), evRowsQuery)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return fromRows(rows, t.cats, t.statuses), nil
}

// scanEvents reads the events a query of evRowsQuery's columns returns, numbering
// their categories and statuses with t. Columns are read off the wire (binary
// format): scanning them into Go values allocated two strings a row.
func scanEvents(ctx context.Context, tx pgx.Tx, t *evTables, out []evRow, sql string, args ...any) ([]evRow, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for i, fd := range rows.FieldDescriptions() {
		if fd.Format != pgx.BinaryFormatCode && i < 3 {
			return nil, fmt.Errorf("column %s not in binary format", fd.Name)
		}
	}
	for rows.Next() {
		v := rows.RawValues()
		if len(v) != 5 || len(v[0]) != 8 || len(v[1]) != 8 || len(v[2]) != 8 {
			return nil, errors.New("unexpected row shape")
		}
		c, err := t.category(v[3])
		if err != nil {
			return nil, err
		}
		s, err := t.status(v[4])
		if err != nil {
			return nil, err
		}
		out = append(out, evRow{
			id:   int64(binary.BigEndian.Uint64(v[0])),
			cell: int64(binary.BigEndian.Uint64(v[1])),
			at:   int64(binary.BigEndian.Uint64(v[2])), // timestamptz: microseconds since 2000, ±infinity as int64 extremes
			cat:  c, st: s,
		})
	}
	return out, rows.Err()
}

// fromRows returns an index of rows (sorted here), without its cell lists.
func fromRows(rows []evRow, cats, statuses []string) *evIndex {
	sortEvRows(rows)
	n := len(rows)
	ix := &evIndex{cats: cats, statuses: statuses, open: openOf(statuses), coarse: &coarseSnaps{}}
	ix.id, ix.cell, ix.at = make([]int64, n), make([]int64, n), make([]int64, n)
	ix.cat, ix.st = make([]uint16, n), make([]uint8, n)
	for i, r := range rows {
		ix.id[i], ix.cell[i], ix.at[i], ix.cat[i], ix.st[i] = r.id, r.cell, r.at, r.cat, r.st
		ix.maxID = max(ix.maxID, r.id)
	}
	return ix
}

// openOf says for each status whether it counts as open.
func openOf(statuses []string) []bool {
	open := make([]bool, len(statuses))
	for i, s := range statuses {
		open[i] = slices.Contains(openStatuses, s)
	}
	return open
}

// sortEvRows sorts rows by compareEvRows: by cell with a radix sort on the bits
// in which the cells differ (43 for res-12 cells: base cell and 12 digits, four
// passes), then each run of one cell by id. A comparison sort of a million rows
// took 300 ms, a third of reading the index.
func sortEvRows(rows []evRow) {
	if len(rows) < 1024 {
		slices.SortFunc(rows, compareEvRows)
		return
	}
	const signBit = 1 << 63 // so that unsigned order is int64 order
	first := uint64(rows[0].cell) ^ signBit
	var differ uint64
	for _, r := range rows {
		differ |= (uint64(r.cell) ^ signBit) ^ first
	}
	if differ != 0 {
		const digitBits = 11
		lo, hi := bits.TrailingZeros64(differ), 64-bits.LeadingZeros64(differ)
		tmp := make([]evRow, len(rows))
		src, dst := rows, tmp
		for shift := lo; shift < hi; shift += digitBits {
			var count [1<<digitBits + 1]int
			for _, r := range src {
				count[((uint64(r.cell)^signBit)>>shift)&(1<<digitBits-1)+1]++
			}
			for i := 1; i < len(count); i++ {
				count[i] += count[i-1]
			}
			for _, r := range src {
				d := ((uint64(r.cell) ^ signBit) >> shift) & (1<<digitBits - 1)
				dst[count[d]] = r
				count[d]++
			}
			src, dst = dst, src
		}
		if &src[0] != &rows[0] {
			copy(rows, src)
		}
	}
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].cell == rows[i].cell {
			j++
		}
		switch run := rows[i:j]; {
		case len(run) > 32:
			slices.SortFunc(run, compareEvRows)
		case len(run) > 1:
			// Insertion: rows come in table order, mostly by id already.
			for k := 1; k < len(run); k++ {
				for m := k; m > 0 && run[m].id < run[m-1].id; m-- {
					run[m], run[m-1] = run[m-1], run[m]
				}
			}
		}
		i = j
	}
}
