package citygen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb/encoding/wkb"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/event"
	"github.com/onegrid/onegrid/geo"
)

// ErrNoCity is returned by CatchUp when the database holds no generated city.
var ErrNoCity = errors.New("the database holds no generated city (dataset citygen)")

// DB is what CatchUp needs: a pool, a connection, or a transaction (CatchUp then
// works in a savepoint of it).
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// CatchUpOptions say up to when to bring a generated city.
type CatchUpOptions struct {
	End time.Time   // the events are brought up to here (exclusive); default Now's reading
	Now clock.Clock // read for End when End is zero
	// TruthPath is a ground-truth file (Options.TruthPath) to take the planted
	// hotspots and the seed from when the city was generated before its model
	// was recorded (migration 0600); it is used only if it matches the city.
	TruthPath string
	Log       *slog.Logger
}

// CatchUpSummary says what CatchUp did.
type CatchUpSummary struct {
	From, To      time.Time // events were added reported in [From, To); From == To: it was up to date
	Events        int64     // events added
	HotspotEvents int64     // of which in the planted hotspots
	Closed        int64     // earlier events closed (or resolved) in the meantime
	Advanced      int64     // earlier events still open whose status moved on
	Inferred      bool      // the model was inferred from the city's rows (generated before it was recorded)
	Seconds       float64
}

// model is a generated city's model as citygen_city records it (migration 0600).
type model struct {
	seed                     uint64
	households, months       int
	eph                      float64 // background events per household per year
	start, generatedEnd, end time.Time
	hotspots                 []Hotspot
	recorded                 bool
}

// perSecond is the background rate of events per household and second: the
// generated period's (EventsPerHousehold a year for a 12-month period).
func (m model) perSecond() float64 {
	return m.eph * float64(m.months) / 12 / m.generatedEnd.Sub(m.start).Seconds()
}

// CatchUp brings the generated city up to o.End: it adds the events reported
// between the end of the city's events and o.End, drawn with the model the city
// was generated with (the same rate per household, category mix, severities,
// sources, places and hours, the planted hotspots continuing), and moves on the
// earlier events that were still open (closing those whose time has come). It
// writes through the same COPY as Generate with the roll-up and tile triggers on,
// in one transaction; a second call with the same end adds nothing. Days are
// drawn whole from streams keyed by the seed, the day and the building (or
// hotspot), so the events added do not depend on how the period is split
// between calls. It returns ErrNoCity when there is no generated city.
func CatchUp(ctx context.Context, db DB, o CatchUpOptions) (CatchUpSummary, error) {
	t0 := time.Now()
	var sum CatchUpSummary
	if o.End.IsZero() {
		if o.Now == nil {
			return sum, errors.New("citygen: catch up: no end: set End or Now")
		}
		o.End = o.Now()
	}
	end := o.End.In(cst).Truncate(time.Second)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return sum, fmt.Errorf("citygen: catch up: begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", genLock); err != nil {
		return sum, fmt.Errorf("citygen: catch up: lock: %w", err)
	}
	m, err := readModel(ctx, tx)
	if errors.Is(err, pgx.ErrNoRows) {
		m, err = inferModel(ctx, tx, o.TruthPath)
	}
	if err != nil {
		return sum, fmt.Errorf("citygen: catch up: %w", err)
	}
	sum.From, sum.To, sum.Inferred = m.end, m.end, !m.recorded
	if end.After(m.end) {
		w := &writer{tx: tx, sum: &Summary{Rows: map[string]int64{}},
			o: Options{Seed: m.seed, Months: m.months, End: end, EventsPerHousehold: m.eph, Log: o.Log}}
		step := time.Now()
		logStep := func(name string) {
			o.Log.Debug("citygen catch-up step", "step", name, "seconds", time.Since(step).Seconds())
			step = time.Now()
		}
		blds, err := readBuildings(ctx, tx, end)
		if err != nil {
			return sum, fmt.Errorf("citygen: catch up: %w", err)
		}
		logStep("read buildings")
		if err := w.progress(ctx, m, end, &sum); err != nil {
			return sum, fmt.Errorf("citygen: catch up: earlier events: %w", err)
		}
		logStep("earlier events")
		if err := w.catchUpEvents(ctx, m, blds, end, &sum); err != nil {
			return sum, fmt.Errorf("citygen: catch up: events: %w", err)
		}
		logStep("new events")
		m.end, sum.To = end, end
	}
	if end.After(sum.From) || !m.recorded {
		if err := writeModel(ctx, tx, m); err != nil {
			return sum, fmt.Errorf("citygen: catch up: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return sum, fmt.Errorf("citygen: catch up: commit: %w", err)
	}
	sum.Seconds = time.Since(t0).Seconds()
	o.Log.Info("citygen caught up", "from", sum.From, "to", sum.To, "events", sum.Events, "closed", sum.Closed, "seconds", sum.Seconds)
	return sum, nil
}

// liveBuilding is a generated building as the database holds it, for drawing
// events: its footprint, address, units and micro-grid in ref (ref.b.hh is the
// number of its room addresses, from which residents' reports take theirs) and
// the households living there, which set its rate.
type liveBuilding struct {
	ref        *bldRef
	households int
}

// buildingsSQL reads the generated buildings in id order, with the current
// version of their micro-grid at $2, their households and their room addresses
// (counted only when they follow the building's address without a gap, as
// Generate numbers them: residents' reports pick one of them by offset).
const buildingsSQL = `
SELECT b.id, b.address_id, ST_AsBinary(b.geom), b.admin_code, b.grid_code,
       coalesce((SELECT g.version FROM grid g WHERE g.code = b.grid_code AND g.valid_from < $2
                 AND (g.valid_to IS NULL OR g.valid_to >= $2) ORDER BY g.version DESC LIMIT 1), 1),
       coalesce(h.n, 0), coalesce(r.n, 0)
FROM building b
LEFT JOIN (SELECT a.parent_id, count(*) AS n FROM household hh JOIN address a ON a.id = hh.address_id
           WHERE hh.dataset = $1 GROUP BY a.parent_id) h ON h.parent_id = b.address_id
LEFT JOIN (SELECT parent_id, count(*) AS n FROM address WHERE dataset = $1 AND level = 'room' GROUP BY parent_id
           HAVING min(id) = parent_id + 1 AND max(id) = parent_id + count(*)) r ON r.parent_id = b.address_id
WHERE b.dataset = $1 AND b.address_id IS NOT NULL AND b.admin_code IS NOT NULL AND b.grid_code IS NOT NULL
ORDER BY b.id`

func readBuildings(ctx context.Context, tx pgx.Tx, end time.Time) ([]liveBuilding, error) {
	rows, err := tx.Query(ctx, buildingsSQL, Dataset, end)
	if err != nil {
		return nil, fmt.Errorf("read buildings: %w", err)
	}
	defer rows.Close()
	var out []liveBuilding
	for rows.Next() {
		var (
			b                  bldPlan
			geom               []byte
			admin, grid        string
			version, hh, rooms int
			id, addressID      int64
		)
		if err := rows.Scan(&id, &addressID, &geom, &admin, &grid, &version, &hh, &rooms); err != nil {
			return nil, fmt.Errorf("read buildings: %w", err)
		}
		g, err := wkb.Unmarshal(geom)
		if err != nil {
			return nil, fmt.Errorf("building %d: %w", id, err)
		}
		bound := g.Bound()
		b.minX, b.minY, b.maxX, b.maxY = bound.Min[0], bound.Min[1], bound.Max[0], bound.Max[1]
		b.id, b.addrID, b.hh = id, addressID, rooms
		out = append(out, liveBuilding{
			ref:        &bldRef{b: &b, c: &community{code: admin}, mg: &mgPlan{code: grid}, mgVersion: version},
			households: hh,
		})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read buildings: %w", err)
	}
	return out, nil
}

// hotspotBuildings gives each hotspot its buildings: those whose centre lies
// within its radius, as planHotspots chose them.
func hotspotBuildings(hs []Hotspot, blds []liveBuilding) {
	for k := range hs {
		h := &hs[k]
		h.blds = nil
		p := geo.NewLocalProjection(h.Lon, h.Lat)
		for _, lb := range blds {
			x, y := lb.ref.b.centre()
			if mx, my := p.ToMetres(x, y); mx*mx+my*my <= h.RadiusM*h.RadiusM {
				h.blds = append(h.blds, lb.ref)
			}
		}
	}
}

// dayNumber numbers China-time calendar days (0 = 1970-01-01).
func dayNumber(day time.Time) uint64 { return uint64((day.Unix() + 8*3600) / 86400) }

// midnight is the start of t's China-time calendar day.
func midnight(t time.Time) time.Time {
	t = t.In(cst)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, cst)
}

// catchUpEvents adds the events reported in [m.end, end). Each whole China-time
// day is drawn from its own streams: one per building (a Poisson count at the
// background rate times the building's households, uniform times within the
// day, then the event as the generated period draws it) and one per hotspot
// (its monthly extra shared evenly over the month's days, on its buildings);
// only the events inside the period are written, so a day split between two
// catch-ups yields the same events as one. Open events' close times go to
// citygen_pending.
func (w *writer) catchUpEvents(ctx context.Context, m model, blds []liveBuilding, end time.Time, sum *CatchUpSummary) error {
	// Events are drawn as if the period had ended before they were reported:
	// every draw then happens whatever the event's state, so the draws do not
	// depend on end; settle then gives the state at end.
	drawOpts := w.o
	drawOpts.End = time.Time{}
	g := newEventGen(drawOpts)
	hs := m.hotspots
	hotspotBuildings(hs, blds)
	for _, h := range hs {
		if _, ok := g.byCode[h.CategoryCode]; !ok {
			return fmt.Errorf("hotspot %d: unknown category %q", h.ID, h.CategoryCode)
		}
	}
	rate := m.perSecond()
	from := m.end
	// The first day may have begun in an earlier catch-up: its events there
	// have keys this one would give events of the same day. With this code
	// those fall before from and are skipped anyway; a different version of
	// the model could draw them later, so their keys are skipped explicitly.
	rows, err := w.tx.Query(ctx, "SELECT dataset_id FROM event WHERE dataset = $1 AND dataset_id IS NOT NULL AND reported_at >= $2 AND reported_at < $3",
		Dataset, midnight(from), from)
	if err != nil {
		return fmt.Errorf("read the first day's events: %w", err)
	}
	have, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("read the first day's events: %w", err)
	}
	taken := map[string]bool{}
	for _, id := range have {
		taken[id] = true
	}
	var pending []pendingClose
	var hot int64
	n, err := w.copyRows(ctx, "event", eventCols[1:], func(emit func([]any) error) error {
		// add draws event k of a building's or hotspot's day from its own
		// stream (how many random numbers the event takes depends on its status
		// at the end) and writes it when it falls inside the period.
		add := func(purpose string, no, unit uint64, k int, br *bldRef, t time.Time, cat Category, dsID string) (bool, error) {
			row, err := g.row(eventStream(m.seed, purpose, no, unit, uint64(k)), 0, br, t, cat)
			if err != nil || t.Before(from) || !t.Before(end) || taken[dsID] {
				return false, err
			}
			closes := g.closed
			row[colGridVersion], row[colDatasetID] = br.gridVersion(), dsID
			if row[colStatus] != "cancelled" {
				row[colStatus], row[colClosedAt], row[colSatisfaction] = settle(end, t, closes, eventStream(m.seed, purpose+" closed", no, unit, uint64(k)))
				if row[colClosedAt] == nil {
					pending = append(pending, pendingClose{dsID, closes})
				}
			}
			return true, emit(row[1:])
		}
		for day := midnight(from); day.Before(end); day = day.AddDate(0, 0, 1) {
			span := day.AddDate(0, 0, 1).Sub(day)
			no, tag := dayNumber(day), day.Format("20060102")
			for _, lb := range blds {
				b := lb.ref.b
				r := stream(m.seed, "catch-up events", no<<32|uint64(b.id))
				for k := range poisson(r, float64(lb.households)*rate*span.Seconds()) {
					t := day.Add(time.Duration(r.Float64() * float64(span)))
					if _, err := add("catch-up event", no, uint64(b.id), k, lb.ref, t, g.category(r), fmt.Sprintf("c%s-%d-%d", tag, b.id, k)); err != nil {
						return err
					}
				}
			}
			monthDays := float64(time.Date(day.Year(), day.Month()+1, 0, 0, 0, 0, 0, cst).Day())
			for _, h := range hs {
				if len(h.blds) == 0 {
					continue
				}
				r := stream(m.seed, "catch-up hotspot events", no<<32|uint64(h.ID))
				cat := g.cats[g.byCode[h.CategoryCode]]
				for k := range poisson(r, h.ExtraPerMonth/monthDays) {
					br := h.blds[r.IntN(len(h.blds))]
					t := day.Add(time.Duration(r.Float64() * float64(span)))
					in, err := add("catch-up hotspot event", no, uint64(h.ID), k, br, t, cat, fmt.Sprintf("h%s-%d-%d", tag, h.ID, k))
					if err != nil {
						return err
					}
					if in {
						hot++
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sum.Events, sum.HotspotEvents = n, hot
	return writePending(ctx, w.tx, pending)
}

// openEvent is a generated event that was open (or resolved, awaiting
// feedback) at the previous end.
type openEvent struct {
	id         int64
	dsID       string
	reported   time.Time
	deadline   *time.Time
	status     string
	closedAt   *time.Time
	closesAt   *time.Time // from citygen_pending
	pendingRow bool       // closesAt came from a citygen_pending row
}

var openRank = map[string]int{"reported": 0, "dispatched": 1, "handling": 2}

// progress moves on the generated events that were open at m.end (those gen
// or a catch-up wrote, which have a dataset_id; events written through the
// event write path are left to the loop), as the model would have by end: an event whose close time has come is closed (resolved
// when within the last 48 hours, else closed with a satisfaction rating as
// often as Generate rates), another takes the status its share of handling time
// gives it, and a resolved one is closed after 48 hours. An open event without
// a recorded close time (a city generated before citygen_pending) draws one
// from the model's handling-time distribution given that it was still open at
// m.end, and keeps it.
func (w *writer) progress(ctx context.Context, m model, end time.Time, sum *CatchUpSummary) error {
	rows, err := w.tx.Query(ctx, `SELECT e.id, e.dataset_id, e.reported_at, e.deadline, e.status, e.closed_at, p.closes_at
		FROM event e LEFT JOIN citygen_pending p ON p.dataset_id = e.dataset_id
		WHERE e.dataset = $1 AND e.dataset_id IS NOT NULL AND e.status IN ('reported', 'dispatched', 'handling', 'resolved') AND e.reported_at < $2
		ORDER BY e.id`, Dataset, m.end)
	if err != nil {
		return err
	}
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (openEvent, error) {
		var e openEvent
		err := row.Scan(&e.id, &e.dsID, &e.reported, &e.deadline, &e.status, &e.closedAt, &e.closesAt)
		e.pendingRow = e.closesAt != nil
		return e, err
	})
	if err != nil {
		return err
	}
	var (
		upd   [][]any // id, status, closed_at, satisfaction
		drawn []pendingClose
		done  []string
	)
	for _, e := range evs {
		r := stream(m.seed, "catch-up progress", uint64(e.id))
		if e.status == "resolved" {
			if e.closedAt != nil && !e.closedAt.After(end.Add(-48*time.Hour)) {
				upd = append(upd, []any{e.id, "closed", *e.closedAt, rating(r)})
				sum.Closed++
			}
			continue
		}
		if e.closesAt == nil {
			if e.deadline == nil {
				continue // not drawn by the model: left as it is
			}
			c := drawClose(r, e.reported, *e.deadline, m.end)
			e.closesAt = &c
			if c.After(end) {
				drawn = append(drawn, pendingClose{e.dsID, c})
			}
		}
		switch status, closedAt, sat := settle(end, e.reported, *e.closesAt, r); {
		case closedAt != nil:
			upd = append(upd, []any{e.id, status, closedAt, sat})
			sum.Closed++
			if e.pendingRow {
				done = append(done, e.dsID)
			}
		case openRank[status] > openRank[e.status]:
			upd = append(upd, []any{e.id, status, nil, nil})
			sum.Advanced++
		}
	}
	if len(upd) > 0 {
		if _, err := w.tx.Exec(ctx, `CREATE TEMP TABLE cg_progress (id bigint, status text, closed_at timestamptz, satisfaction smallint) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := w.tx.CopyFrom(ctx, pgx.Identifier{"cg_progress"}, []string{"id", "status", "closed_at", "satisfaction"}, pgx.CopyFromRows(upd)); err != nil {
			return err
		}
		// One statement: the roll-up and tile triggers fold it in once.
		if _, err := w.tx.Exec(ctx, `UPDATE event e SET status = u.status, closed_at = u.closed_at, satisfaction = u.satisfaction
			FROM cg_progress u WHERE e.id = u.id`); err != nil {
			return err
		}
	}
	if len(done) > 0 {
		if _, err := w.tx.Exec(ctx, "DELETE FROM citygen_pending WHERE dataset_id = ANY($1)", done); err != nil {
			return err
		}
	}
	return writePending(ctx, w.tx, drawn)
}

// Positions in eventCols of what a catch-up sets after row.
var (
	colStatus       = slices.Index(eventCols, "status")
	colClosedAt     = slices.Index(eventCols, "closed_at")
	colSatisfaction = slices.Index(eventCols, "satisfaction")
	colGridVersion  = slices.Index(eventCols, "grid_version")
	colDatasetID    = slices.Index(eventCols, "dataset_id")
)

// isOpen reports whether a status is one of the loop's open ones.
func isOpen(status any) bool {
	s, ok := status.(string)
	_, open := openRank[s]
	return ok && open
}

// openStatus is the status at end of an event reported at t that is resolved
// at closes (after end), as row gives it: by the share of its handling time gone.
func openStatus(end, t, closes time.Time) string {
	switch f := float64(end.Sub(t)) / float64(closes.Sub(t)); {
	case f < 0.1:
		return "reported"
	case f < 0.3:
		return "dispatched"
	}
	return "handling"
}

// settle is the state at end of an event reported at t that is closed at
// closes, as Generate gives it: open (by the share of its handling time gone)
// until closes, then resolved (awaiting the resident's feedback) for 48 hours,
// then closed and rated (rating, from r).
func settle(end, t, closes time.Time, r *rand.Rand) (status string, closedAt, satisfaction any) {
	switch {
	case closes.After(end):
		return openStatus(end, t, closes), nil, nil
	case closes.After(end.Add(-48 * time.Hour)):
		return "resolved", closes, nil
	}
	return "closed", closes, rating(r)
}

// rating is a closed event's satisfaction, as Generate draws it (event's model:
// RatedShare of residents rate, 1..5 with RatingShares).
func rating(r *rand.Rand) any {
	if r.Float64() < event.RatedShare {
		return event.Rating(r.Float64())
	}
	return nil
}

// drawClose draws when an event reported at t with deadline will be closed,
// given that it was still open at after: Generate's handling time (95 % within
// 5–95 % of the time limit, 5 % late at 105–305 %), conditioned on exceeding
// after − t. An event open beyond any such time closes at after.
func drawClose(r *rand.Rand, t, deadline, after time.Time) time.Time {
	limit := deadline.Sub(t).Seconds()
	gone := after.Sub(t).Seconds()
	type part struct{ lo, hi, weight float64 }
	parts := []part{{0.05 * limit, 0.95 * limit, 0.95}, {1.05 * limit, 3.05 * limit, 0.05}}
	mass := make([]float64, len(parts))
	total := 0.0
	for i, p := range parts {
		lo := max(p.lo, gone)
		if lo < p.hi {
			mass[i] = p.weight * (p.hi - lo) / (p.hi - p.lo)
		}
		total += mass[i]
	}
	if total == 0 {
		return after
	}
	u := r.Float64() * total
	for i, p := range parts {
		if u < mass[i] || i == len(parts)-1 {
			lo := max(p.lo, gone)
			took := lo + (u/mass[i])*(p.hi-lo)
			return t.Add(time.Duration(took * float64(time.Second)))
		}
		u -= mass[i]
	}
	return after // not reached
}

// pendingClose is when a generated event still open will be closed.
type pendingClose struct {
	dsID   string
	closes time.Time
}

func writePending(ctx context.Context, tx pgx.Tx, ps []pendingClose) error {
	if len(ps) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"citygen_pending"}, []string{"dataset_id", "closes_at"},
		pgx.CopyFromSlice(len(ps), func(i int) ([]any, error) { return []any{ps[i].dsID, ps[i].closes}, nil }))
	if err != nil {
		return fmt.Errorf("pending closes: %w", err)
	}
	return nil
}

// recordModel records the model of the city being generated, replacing an
// earlier city's, for CatchUp.
func (w *writer) recordModel(ctx context.Context, hs []Hotspot) error {
	if _, err := w.tx.Exec(ctx, "DELETE FROM citygen_pending"); err != nil {
		return fmt.Errorf("pending closes: %w", err)
	}
	return writeModel(ctx, w.tx, model{
		seed: w.o.Seed, households: w.o.Households, months: w.o.Months, eph: w.o.EventsPerHousehold,
		start: w.o.Start(), generatedEnd: w.o.End, end: w.o.End, hotspots: hs, recorded: true,
	})
}

func writeModel(ctx context.Context, tx pgx.Tx, m model) error {
	if m.hotspots == nil {
		m.hotspots = []Hotspot{}
	}
	hs, err := json.Marshal(m.hotspots)
	if err != nil {
		return fmt.Errorf("record the model: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO citygen_city AS c (dataset, seed, households, months, events_per_household,
			period_start, generated_end, period_end, hotspots, recorded)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (dataset) DO UPDATE SET seed = excluded.seed, households = excluded.households, months = excluded.months,
			events_per_household = excluded.events_per_household, period_start = excluded.period_start,
			generated_end = excluded.generated_end, period_end = excluded.period_end, hotspots = excluded.hotspots,
			recorded = excluded.recorded`,
		Dataset, int64(m.seed), m.households, m.months, m.eph, m.start, m.generatedEnd, m.end, hs, m.recorded)
	if err != nil {
		return fmt.Errorf("record the model: %w", err)
	}
	return nil
}

// readModel reads the recorded model; pgx.ErrNoRows when there is none.
func readModel(ctx context.Context, tx pgx.Tx) (model, error) {
	var (
		m    model
		seed int64
		hs   []byte
	)
	err := tx.QueryRow(ctx, `SELECT seed, households, months, events_per_household, period_start, generated_end, period_end, hotspots, recorded
		FROM citygen_city WHERE dataset = $1 FOR UPDATE`, Dataset).
		Scan(&seed, &m.households, &m.months, &m.eph, &m.start, &m.generatedEnd, &m.end, &hs, &m.recorded)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return m, err
		}
		return m, fmt.Errorf("read the model: %w", err)
	}
	m.seed = uint64(seed)
	m.start, m.generatedEnd, m.end = m.start.In(cst), m.generatedEnd.In(cst), m.end.In(cst)
	if err := json.Unmarshal(hs, &m.hotspots); err != nil {
		return m, fmt.Errorf("read the model's hotspots: %w", err)
	}
	return m, nil
}

// inferModel reads the model of a city generated before its model was recorded
// (migration 0600) from its rows: the period from the grids' valid_from to the
// China-time midnight after its last event, the rate from its events, and the
// seed and hotspots from truthPath when that file describes this city (else
// seed 1 and no hotspots). ErrNoCity when there is no generated city.
func inferModel(ctx context.Context, tx pgx.Tx, truthPath string) (model, error) {
	var (
		m           model
		hh, events  int64
		last, start *time.Time
	)
	err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM household WHERE dataset = $1), (SELECT count(*) FROM event WHERE dataset = $1),
		(SELECT max(reported_at) FROM event WHERE dataset = $1), (SELECT min(valid_from) FROM grid WHERE dataset = $1)`, Dataset).
		Scan(&hh, &events, &last, &start)
	if err != nil {
		return m, fmt.Errorf("look for a generated city: %w", err)
	}
	if hh == 0 || last == nil || start == nil {
		return m, ErrNoCity
	}
	m.households, m.seed = int(hh), 1
	m.start = start.In(cst)
	m.end = midnight(*last).AddDate(0, 0, 1)
	m.generatedEnd = m.end
	m.months = max(1, int(m.end.Sub(m.start).Hours()/24/30.44+0.5))
	for k := 1; k <= 120; k++ {
		if m.end.AddDate(0, -k, 0).Equal(m.start) {
			m.months = k
			break
		}
	}
	if truthPath != "" {
		if b, err := os.ReadFile(truthPath); err == nil {
			var tr Truth
			if json.Unmarshal(b, &tr) == nil && int64(tr.Households) == hh && tr.PeriodStart.Equal(m.start) && tr.PeriodEnd.Equal(m.end) {
				m.seed, m.hotspots = tr.Seed, tr.Hotspots
			}
		}
	}
	extra := int64(0)
	for _, h := range m.hotspots {
		extra += int64(h.Events)
	}
	m.eph = float64(max(0, events-extra)) / float64(hh) / (float64(m.months) / 12)
	return m, nil
}
