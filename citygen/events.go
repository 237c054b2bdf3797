package citygen

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/event"
	"github.com/onegrid/onegrid/geo"
)

// Hotspot is a planted cluster of extra events: ground truth for detection.
type Hotspot struct {
	ID            int       `json:"id"`
	Lon           float64   `json:"lon"`
	Lat           float64   `json:"lat"`
	RadiusM       float64   `json:"radius_m"`
	Start         time.Time `json:"start"`
	StartMonth    int       `json:"start_month"` // 0 = the first month of the period
	CategoryCode  string    `json:"category_code"`
	Category      string    `json:"category"`
	ExtraPerMonth float64   `json:"extra_per_month"` // mean extra events a month from Start
	Events        int       `json:"events"`          // extra events written
	Households    int       `json:"households"`      // households within the radius
	H3Res9        string    `json:"h3_res9"`         // the centre's res-9 cell
	blds          []*bldRef
}

// Truth is the ground-truth file's content.
type Truth struct {
	Seed        uint64    `json:"seed"`
	Households  int       `json:"households"`
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
	Hotspots    []Hotspot `json:"hotspots"`
}

func writeTruth(o Options, hs []Hotspot) error {
	b, err := json.MarshalIndent(Truth{Seed: o.Seed, Households: o.Households, PeriodStart: o.Start(), PeriodEnd: o.End, Hotspots: hs}, "", "  ")
	if err != nil {
		return fmt.Errorf("truth file: %w", err)
	}
	if err := os.WriteFile(o.TruthPath, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("truth file: %w", err)
	}
	return nil
}

// Hotspot categories: things that really cluster (a market, a building site, a
// nightlife street, a flooded underpass).
var hotspotCategories = []string{"020101", "020301", "010101", "050101", "040401", "010201", "060301", "020201"}

var eventCols = []string{"id", "category_code", "severity", "source", "status", "title", "reported_at", "happened_at", "closed_at", "deadline",
	"escalation", "satisfaction", "address_id", "geom", "h3", "admin_code", "grid_code", "grid_version", "dataset", "dataset_id"}

// eventGen draws events; one per call of next, from the stream it is given.
type eventGen struct {
	o       Options
	cats    []Category
	cum     []float64 // cumulative weights of the level-3 classes
	leaf    []int     // index into cats of each level-3 class
	byCode  map[string]int
	start   time.Time
	periodS float64
	jx, jy  float64   // jitter, degrees
	closed  time.Time // when the event row drew last is resolved: for one left open
}

func newEventGen(o Options) *eventGen {
	g := &eventGen{o: o, cats: Categories(), byCode: map[string]int{}, start: o.Start()}
	t := 0.0
	for i, c := range g.cats {
		g.byCode[c.Code] = i
		if c.Level == 3 {
			t += c.Weight
			g.cum = append(g.cum, t)
			g.leaf = append(g.leaf, i)
		}
	}
	g.periodS = o.End.Sub(g.start).Seconds()
	g.jx = (setbackM - 1) / geo.MetresPerDegreeLon(22.6)
	g.jy = (setbackM - 1) / geo.MetresPerDegreeLat(22.6)
	return g
}

func (g *eventGen) category(r *rand.Rand) Category {
	t := r.Float64() * g.cum[len(g.cum)-1]
	return g.cats[g.leaf[sort.SearchFloat64s(g.cum, t)]]
}

var sources = []string{"patrol", "hotline", "app", "qr", "sensor"}
var sourceShares = []float64{0.45, 0.20, 0.15, 0.12, 0.08}

// row draws one event at building br, reported at t, of category cat.
func (g *eventGen) row(r *rand.Rand, id int64, br *bldRef, t time.Time, cat Category) ([]any, error) {
	b := br.b
	x := b.minX - g.jx + r.Float64()*(b.maxX-b.minX+2*g.jx)
	y := b.minY - g.jy + r.Float64()*(b.maxY-b.minY+2*g.jy)
	h, err := geo.CellAt(x, y, geo.StorageRes)
	if err != nil {
		return nil, err
	}
	severity := event.General
	switch v := r.Float64(); {
	case v < 0.05:
		severity = event.Urgent
	case v < 0.20:
		severity = event.Important
	}
	// The deadline and the loop's timing are the event package's: the write
	// path and the demo pulse set and move live events by the same rules.
	limit := event.TimeLimit(cat.TimeLimitHours, severity)
	deadline := t.Add(limit)
	took := event.HandlingTime(r.Float64(), r.Float64(), limit)
	closed := t.Add(took)
	var closedAt, satisfaction any
	escalation := 0
	switch v := r.Float64(); {
	case v < 0.003:
		escalation = 2
	case v < 0.02:
		escalation = 1
	}
	// Its status at the end of the period: open, resolved (awaiting the
	// resident's feedback) or closed, perhaps rated.
	status := event.Stage(g.o.End.Sub(t), took)
	switch {
	case r.Float64() < 0.01:
		status = event.Cancelled
	case event.IsOpen(status):
	default:
		closedAt = closed
		if status == event.Closed && r.Float64() < event.RatedShare {
			satisfaction = event.Rating(r.Float64())
		}
	}
	happened := t.Add(-time.Duration(r.Float64() * float64(6*time.Hour)))
	// A resident's address for hotline and app reports, the building otherwise.
	addr := b.addrID
	src := sources[pickShare(r, sourceShares)]
	if (src == "hotline" || src == "app") && b.hh > 0 {
		addr = b.addrID + 1 + int64(r.IntN(b.hh))
	}
	g.closed = closed // read by the callers for an event left open
	return []any{id, cat.Code, severity, src, status, cat.Name, t, happened, closedAt, deadline,
		escalation, satisfaction, addr, ewkbPoint(x, y), h, br.c.code, br.mg.code, 1, Dataset, "e" + strconv.FormatInt(id, 10)}, nil
}

// poisson draws a Poisson count: Knuth's method below 30, a rounded normal above.
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda >= 30 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// planHotspots picks K clusters: a centre building, a radius and an extra rate
// of one to three times the background within the radius (at least 8 a month).
func (w *writer) planHotspots() []Hotspot {
	r := stream(w.o.Seed, "hotspots", 0)
	blds := w.c.blds
	var hs []Hotspot
	cats := Categories()
	names := map[string]string{}
	for _, c := range cats {
		names[c.Code] = c.Name
	}
	for k := 0; k < w.o.Hotspots && len(blds) > 0; k++ {
		centre := blds[r.IntN(len(blds))]
		cx, cy := centre.b.centre()
		p := geo.NewLocalProjection(cx, cy)
		h := Hotspot{ID: k + 1, Lon: cx, Lat: cy, RadiusM: math.Round(150 + 250*r.Float64())}
		h.StartMonth = r.IntN(max(1, w.o.Months/2+1))
		h.Start = w.o.Start().AddDate(0, h.StartMonth, 0)
		h.CategoryCode = hotspotCategories[r.IntN(len(hotspotCategories))]
		h.Category = names[h.CategoryCode]
		for _, br := range blds {
			x, y := br.b.centre()
			if mx, my := p.ToMetres(x, y); mx*mx+my*my <= h.RadiusM*h.RadiusM {
				h.blds = append(h.blds, br)
				h.Households += br.b.hh
			}
		}
		background := float64(h.Households) * w.o.EventsPerHousehold / 12
		h.ExtraPerMonth = math.Round(math.Max(8, (1+2*r.Float64())*background)*10) / 10
		if c, err := geo.CellAt(cx, cy, 9); err == nil {
			h.H3Res9 = geo.CellString(c)
		}
		hs = append(hs, h)
	}
	return hs
}

// categories writes the taxonomy; codes already present are left as they are,
// since other datasets' events may use them.
func (w *writer) categories(ctx context.Context, cats []Category) error {
	b := &pgx.Batch{}
	for _, c := range cats {
		var parent any
		if c.ParentCode != "" {
			parent = c.ParentCode
		}
		b.Queue(`INSERT INTO event_category (code, level, parent_code, name, name_en, time_limit_hours, sensitive)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO NOTHING`, c.Code, c.Level, parent, c.Name, c.NameEn, c.TimeLimitHours, c.Sensitive)
	}
	if err := w.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("event categories: %w", err)
	}
	w.sum.Rows["event_category"] = int64(len(cats))
	return nil
}

func (w *writer) events(ctx context.Context) error {
	g := newEventGen(w.o)
	if err := w.categories(ctx, g.cats); err != nil {
		return err
	}
	hs := w.planHotspots()
	id := w.idBase["event"]
	rate := w.o.EventsPerHousehold * float64(w.o.Months) / 12
	var pending []pendingClose // the events still open at the end, read after the copy
	next := func(r *rand.Rand, br *bldRef, t time.Time, cat Category) ([]any, error) {
		id++
		row, err := g.row(r, id, br, t, cat)
		if err == nil && isOpen(row[colStatus]) {
			pending = append(pending, pendingClose{row[colDatasetID].(string), g.closed})
		}
		return row, err
	}
	_, err := w.copyRows(ctx, "event", eventCols, func(emit func([]any) error) error {
		for _, br := range w.c.blds {
			r := stream(w.o.Seed, "events", uint64(br.b.id))
			n := poisson(r, float64(br.b.hh)*rate)
			for range n {
				t := g.start.Add(time.Duration(r.Float64() * g.periodS * float64(time.Second)))
				row, err := next(r, br, t, g.category(r))
				if err != nil {
					return err
				}
				if err := emit(row); err != nil {
					return err
				}
			}
		}
		for k := range hs {
			h := &hs[k]
			if len(h.blds) == 0 {
				continue
			}
			r := stream(w.o.Seed, "hotspot events", uint64(k))
			cat := g.cats[g.byCode[h.CategoryCode]]
			for m := h.StartMonth; m < w.o.Months; m++ {
				ms := w.o.Start().AddDate(0, m, 0)
				span := ms.AddDate(0, 1, 0).Sub(ms)
				for range poisson(r, h.ExtraPerMonth) {
					br := h.blds[r.IntN(len(h.blds))]
					t := ms.Add(time.Duration(r.Float64() * float64(span)))
					row, err := next(r, br, t, cat)
					if err != nil {
						return err
					}
					if err := emit(row); err != nil {
						return err
					}
					h.Events++
				}
			}
		}
		return nil
	})
	w.sum.Hotspots = hs
	if err != nil {
		return err
	}
	if err := w.recordModel(ctx, hs); err != nil {
		return err
	}
	return writePending(ctx, w.tx, pending)
}
