package tiles

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/scope"
)

// Per-jurisdiction snapshots. The in-memory layers (outlines with load figures,
// the H3 aggregates, the event index) are read once for the whole city, as the
// server itself (scope.System), and serve every caller whose jurisdiction is
// everything. A caller with a smaller jurisdiction is served from a view of its
// own, read under that jurisdiction's identity so that row-level security
// decides what is in it:
//
//   - outlines: which admin units, grids and buildings the jurisdiction sees
//     (its own, and for context the units it lies in), and its tile_load rows;
//     their outlines are the whole-city snapshot's, shared, not copied; a unit
//     that is only context carries no load figures;
//   - households_h3: the jurisdiction's household rows, counted per cell at
//     resolutions 6..11 (the tile_* H3 roll-ups answer only the whole city);
//   - events_h3: an event index of the jurisdiction's events (evindex.go), and
//     the all-time counts per cell and status derived from it;
//   - hotspots: the standard runs it may read (hotspotmem.go).
//
// A view is read under a reader identity of the jurisdiction with the
// capabilities of an aggregate reader (rows, households, aggregates: what
// sc.Aggregating gives a caller who may see aggregates), so one view serves every
// caller of that jurisdiction; what a caller sees of it is decided per layer when
// drawing (Layer.Need, FiguresNeed, and the sensitive categories). Views are
// keyed by the reader's scope.Key, refreshed by the same layer versions as the
// whole-city snapshots, read once for concurrent requests (snapshot, evStore),
// and kept in an LRU bounded by the bytes they hold (Config.ViewBytes) and their
// number (Config.Views): an evicted view is read again when next asked for.
//
// Memory: a view holds its jurisdiction's share of the whole city's snapshots
// (27 bytes an event for the index plus its cell lists and all-time counts,
// about 150 bytes an H3 cell with its properties, about 250 bytes a unit, whose
// outline is shared). On the 1,000,000-household city a district's view (a third
// of the city's events and households) holds 28 MB and a street's 2.8 MB
// (BENCHMARKS.md, "Scoped tiles").

// view is the in-memory layers of one jurisdiction smaller than everything.
type view struct {
	key    string
	reader scope.Scope
	svc    *Service

	units  map[*unitLayer]*snapshot[unitSnap]
	hh     snapshot[householdsSnap]
	ev     *evStore
	evAgg  snapshot[eventsSnap]
	hot    snapshot[hotspotsSnap]
	bounds snapshot[boundsSnap]

	size atomic.Int64 // bytes held, as last counted
}

// readerCaps are the capabilities a view is read with.
var readerCaps = []string{scope.CanAggregates, scope.CanHouseholds, scope.CanRows}

// jurisdiction returns the reader identity of the scope's jurisdiction.
func jurisdiction(sc scope.Scope) scope.Scope {
	units := slices.Clone(sc.Units)
	slices.Sort(units)
	units = slices.Compact(units)
	return scope.Scope{User: "onegrid-tiles", Units: units, Caps: readerCaps}
}

// viewFor returns the view of the scope's jurisdiction (nil for everything,
// which the whole-city snapshots serve).
func (s *Service) viewFor(sc scope.Scope) *view {
	if sc.All() {
		return nil
	}
	return s.views.get(s, jurisdiction(sc))
}

// recount updates the bytes the view holds and trims the LRU.
func (v *view) recount() {
	var n int64 = 512
	for _, u := range v.units {
		if s := u.cur.Load(); s != nil {
			n += s.bytes
		}
	}
	if s := v.hh.cur.Load(); s != nil {
		n += s.bytes()
	}
	if ix := v.ev.cur.Load(); ix != nil {
		n += int64(ix.bytes())
	}
	if s := v.evAgg.cur.Load(); s != nil {
		n += s.bytes()
	}
	if s := v.hot.cur.Load(); s != nil {
		n += s.bytes()
	}
	v.size.Store(n)
	v.svc.views.trim()
}

// viewCache is the LRU of views.
type viewCache struct {
	maxBytes int64
	maxViews int

	mu    sync.Mutex
	ll    *list.List // front: most recently used
	items map[string]*list.Element

	evictions atomic.Int64
}

func newViewCache(maxBytes int64, maxViews int) *viewCache {
	return &viewCache{maxBytes: maxBytes, maxViews: maxViews, ll: list.New(), items: map[string]*list.Element{}}
}

// get returns the view of the reader's jurisdiction, making it if needed.
func (c *viewCache) get(s *Service, reader scope.Scope) *view {
	key := reader.Key()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*view)
	}
	v := &view{key: key, reader: reader, svc: s, units: map[*unitLayer]*snapshot[unitSnap]{}}
	for ul := range s.outlines {
		v.units[ul] = &snapshot[unitSnap]{}
	}
	v.ev = &evStore{pool: s.pool, life: s.life, log: s.log, as: reader}
	v.size.Store(512)
	c.items[key] = c.ll.PushFront(v)
	c.trimLocked()
	return v
}

func (c *viewCache) trim() {
	c.mu.Lock()
	c.trimLocked()
	c.mu.Unlock()
}

// trimLocked evicts least recently used views beyond the bounds; the most
// recently used one stays whatever its size. An evicted view is only forgotten:
// requests still drawing from it finish with it (a load it runs ends within
// evLoadTimeout, or at Close), and the garbage collector takes it after them.
func (c *viewCache) trimLocked() {
	var used int64
	for e := c.ll.Front(); e != nil; e = e.Next() {
		used += e.Value.(*view).size.Load()
	}
	for c.ll.Len() > 1 && (used > c.maxBytes || c.ll.Len() > c.maxViews) {
		e := c.ll.Back()
		v := e.Value.(*view)
		c.ll.Remove(e)
		delete(c.items, v.key)
		used -= v.size.Load()
		c.evictions.Add(1)
	}
}

// ViewStats describes the views of smaller jurisdictions.
type ViewStats struct {
	Views     int   `json:"views"`
	Bytes     int64 `json:"bytes"`
	MaxBytes  int64 `json:"max_bytes"`
	MaxViews  int   `json:"max_views"`
	Evictions int64 `json:"evictions"`
}

func (c *viewCache) stats() ViewStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := ViewStats{Views: c.ll.Len(), MaxBytes: c.maxBytes, MaxViews: c.maxViews, Evictions: c.evictions.Load()}
	for e := c.ll.Front(); e != nil; e = e.Next() {
		st.Bytes += e.Value.(*view).size.Load()
	}
	return st
}

// ViewStats returns the counters of the per-jurisdiction views.
func (s *Service) ViewStats() ViewStats { return s.views.stats() }

// households returns the jurisdiction's households_h3 snapshot, version want or newer.
func (v *view) households(ctx context.Context, want int64) (*householdsSnap, error) {
	read := false
	snap, err := v.hh.get(func(s *householdsSnap) bool { return s.version >= want }, func(*householdsSnap) (*householdsSnap, error) {
		read = true
		s, err := loadHouseholdsRaw(ctx, v.svc.pool, v.reader, v.svc.h3.rule)
		if err != nil {
			return nil, fmt.Errorf("read households of a jurisdiction: %w", err)
		}
		return s, nil
	})
	if read && err == nil {
		v.recount()
	}
	return snap, err
}

// events returns the jurisdiction's all-time events_h3 counts, version want or
// newer, derived from its event index.
func (v *view) events(ctx context.Context, want int64) (*eventsSnap, error) {
	read := false
	snap, err := v.evAgg.get(func(s *eventsSnap) bool { return s.version >= want }, func(*eventsSnap) (*eventsSnap, error) {
		read = true
		ix, err := v.ev.get(ctx, want)
		if err != nil {
			return nil, err
		}
		return eventsSnapFromIndex(ix), nil
	})
	if read && err == nil {
		v.recount()
	}
	return snap, err
}

// hotspots returns the jurisdiction's hotspots snapshot, version want or newer.
func (v *view) hotspots(ctx context.Context, want int64) (*hotspotsSnap, error) {
	read := false
	snap, err := v.hot.get(func(s *hotspotsSnap) bool { return s.version >= want }, func(*hotspotsSnap) (*hotspotsSnap, error) {
		read = true
		return loadHotspots(ctx, v.svc.pool, v.reader)
	})
	if read && err == nil {
		v.recount()
	}
	return snap, err
}

// index returns the jurisdiction's event index, version want or newer.
func (v *view) index(ctx context.Context, want int64) (*evIndex, error) {
	before := v.ev.cur.Load()
	ix, err := v.ev.get(ctx, want)
	if err == nil && ix != before {
		v.recount()
	}
	return ix, err
}

// Queries of which units a jurisdiction sees, and whether each lies inside it
// (in_scope) or only contains part of it (an ancestor, shown for context).
const (
	visibleAdmin     = `SELECT a.code, in_scope(a.code) FROM admin_area a WHERE a.level IN ('district', 'street', 'community')`
	visibleGrids     = `SELECT g.id::text, in_scope(g.code) FROM grid g WHERE g.valid_to IS NULL AND g.level IN ('grid', 'micro_grid')`
	visibleBuildings = `SELECT b.id::text, true FROM building b`
)

// outlines returns the jurisdiction's units of one outline layer, at versions no
// older than vset's.
func (v *view) outlines(ctx context.Context, st *unitStore, vset *versionSet) (*unitSnap, error) {
	wantOutline, wantLoad := vset.v[st.layer.outlineSource], vset.v[st.layer.loadSource]
	read := false
	snap, err := v.units[st.layer].get(func(s *unitSnap) bool {
		return s.outlineVersion >= wantOutline && s.loadVersion >= wantLoad
	}, func(*unitSnap) (*unitSnap, error) {
		read = true
		s, err := v.readOutlines(ctx, st)
		if err != nil {
			return nil, fmt.Errorf("read %s of a jurisdiction: %w", st.layer.name, err)
		}
		return s, nil
	})
	if read && err == nil {
		v.recount()
	}
	return snap, err
}

// readOutlines reads which units the jurisdiction sees and its load figures,
// then takes their outlines from a whole-city snapshot at least as new.
func (v *view) readOutlines(ctx context.Context, st *unitStore) (*unitSnap, error) {
	s := &unitSnap{}
	inside := map[string]bool{} // unit key → inside the jurisdiction
	loads := &loadTable{}
	err := readSnapshot(ctx, v.svc.pool, v.reader, func(tx pgx.Tx) (err error) {
		if s.outlineVersion, err = layerVersion(ctx, tx, st.layer.outlineSource); err != nil {
			return err
		}
		if s.loadVersion, err = layerVersion(ctx, tx, st.layer.loadSource); err != nil {
			return err
		}
		q := visibleAdmin
		switch {
		case st.layer.buildings:
			q = visibleBuildings
		case st.layer.withGridDetails:
			q = visibleGrids
		}
		rows, _ := tx.Query(ctx, q)
		var key string
		var in bool
		if _, err := pgx.ForEachRow(rows, []any{&key, &in}, func() error {
			inside[key] = in
			return nil
		}); err != nil {
			return err
		}
		if st.layer.loadKind != "" {
			loads, err = readLoads(ctx, tx, st.layer.loadKind)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	whole, err := st.getAt(ctx, s.outlineVersion, s.loadVersion)
	if err != nil {
		return nil, err
	}
	s.byLevel, s.maxWidth = map[string][]unit{}, map[string]float64{}
	for level, us := range whole.byLevel {
		for i := range us {
			in, ok := inside[us[i].key(st.layer)]
			if !ok {
				continue
			}
			u := us[i] // the outline is shared; figures are the jurisdiction's
			u.figures = in
			if in {
				setFigures(&u, loads, st.rule)
			} else {
				u.households, u.people, u.openEvents, u.loadShown = 0, 0, 0, false
			}
			s.byLevel[level] = append(s.byLevel[level], u) // still sorted by bound.Min[0]
			s.maxWidth[level] = max(s.maxWidth[level], u.bound.Max[0]-u.bound.Min[0])
			s.bytes += sizeofUnit
		}
	}
	return s, nil
}

// boundsSnap is a jurisdiction's extent as of the admin and grids versions.
type boundsSnap struct {
	admin, grids int64
	b            [4]float64
}

// scopedBoundsQuery is the extent of the admin areas and current grids inside
// the jurisdiction of the transaction's identity (not the units it lies in).
const scopedBoundsQuery = `SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (
	SELECT ST_Extent(geom) AS b FROM (
		SELECT geom FROM admin_area WHERE in_scope(code)
		UNION ALL SELECT geom FROM grid WHERE valid_to IS NULL AND in_scope(code)
	) s
) q WHERE b IS NOT NULL`

// extent returns the jurisdiction's bounds (ok false: it holds no unit).
func (v *view) extent(ctx context.Context, vset *versionSet) ([4]float64, bool, error) {
	admin, grids := vset.v["admin"], vset.v["grids"]
	snap, err := v.bounds.get(func(s *boundsSnap) bool { return s.admin >= admin && s.grids >= grids }, func(*boundsSnap) (*boundsSnap, error) {
		s := &boundsSnap{admin: admin, grids: grids}
		err := readSnapshot(ctx, v.svc.pool, v.reader, func(tx pgx.Tx) (err error) {
			if s.admin, err = layerVersion(ctx, tx, "admin"); err != nil {
				return err
			}
			if s.grids, err = layerVersion(ctx, tx, "grids"); err != nil {
				return err
			}
			err = tx.QueryRow(ctx, scopedBoundsQuery).Scan(&s.b[0], &s.b[1], &s.b[2], &s.b[3])
			if err == pgx.ErrNoRows {
				s.b = worldBounds
				return nil
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("tile bounds of a jurisdiction: %w", err)
		}
		return s, nil
	})
	if err != nil {
		return [4]float64{}, false, err
	}
	return snap.b, snap.b != worldBounds, nil
}

// worldBounds is the Web Mercator world, the bounds of a server without units.
var worldBounds = [4]float64{-180, -85.0511, 180, 85.0511}

// scopeKey names what a scope sees of the tiles, for the tile cache and ETags:
// its jurisdiction, whether it sees the row layers and the aggregate layers,
// and which sensitive categories it sees exactly (all, or its duties). Two
// scopes with the same key are served the same tiles; other capabilities
// change nothing in a tile. It holds no personal value.
func scopeKey(sc scope.Scope) string {
	rows, aggs, sens := sc.Can(scope.CanRows), sc.Can(scope.CanAggregates), sc.Can(scope.CanSensitive)
	if sc.All() && rows && aggs && sens {
		return "all"
	}
	units := slices.Clone(sc.Units)
	slices.Sort(units)
	units = slices.Compact(units)
	var b strings.Builder
	b.WriteString(strings.Join(units, ","))
	b.WriteString("|")
	for _, f := range []bool{rows, aggs, sens, len(sc.Units) > 0} {
		if f {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	if !sens {
		duties := slices.Clone(sc.Duties)
		slices.Sort(duties)
		b.WriteString("|" + strings.Join(duties, ","))
	}
	h := sha256.Sum256([]byte(b.String()))
	return base64.RawURLEncoding.EncodeToString(h[:12])
}
