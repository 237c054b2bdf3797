package hotspot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	stats "github.com/onegrid/onegrid/geo/hotspot"
	"github.com/onegrid/onegrid/scope"
)

// The standard set: what the screen shows without waiting.
const (
	StandardRes    = 9
	StandardK      = 1
	StandardWindow = 30 * 24 * time.Hour
)

// StandardReport says what one pass over the standard set did.
type StandardReport struct {
	From    time.Time     `json:"from"`
	To      time.Time     `json:"to"`
	Runs    int           `json:"runs"`    // runs stored
	Nothing int           `json:"nothing"` // of which nothing to find
	Alerts  []Alert       `json:"alerts"`  // alerts raised
	Took    time.Duration `json:"took_ns"` // wall time
}

const selectStreets = `SELECT code, level, name, unit_prefix(code), md5(ST_AsBinary(geom)), ST_AsBinary(geom)
FROM admin_area WHERE level = 'street' ORDER BY code`

const selectTopCategories = `SELECT code FROM event_category WHERE level = 1 ORDER BY code`

// countStandard counts events per cell, street prefix (grid_code's first 9
// characters) and top-level category (the category's level-1 ancestor: loaded
// datasets number their taxonomies differently, e.g. "01" and "SF01").
const countStandard = `SELECT h3_parent(e.h3, $1) AS cell, substr(e.grid_code, 1, 9) AS street,
    coalesce(r.root, e.category_code) AS category, count(*), sum(sdc_record_key(e.id, (SELECT seed FROM sdc_secret)))::bigint
FROM event e LEFT JOIN event_category_roots r ON r.code = e.category_code
WHERE e.reported_at >= $2 AND e.reported_at < $3
GROUP BY 1, 2, 3`

// RunStandard computes and stores the standard set once, for the window of
// StandardWindow ending now: the whole city and each street, all categories
// and each top-level category, res StandardRes, k StandardK, by count. Events
// are counted with one query for the whole set.
func (s *Service) RunStandard(ctx context.Context) (*StandardReport, error) {
	start := time.Now()
	to := s.cfg.Now().Truncate(time.Minute)
	rep := &StandardReport{From: to.Add(-StandardWindow), To: to}

	var tops []string
	rows, err := s.db.Query(ctx, selectTopCategories)
	if err != nil {
		return nil, fmt.Errorf("hotspot: standard: categories: %w", err)
	}
	if tops, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, fmt.Errorf("hotspot: standard: categories: %w", err)
	}

	areas := []*studyArea{}
	if city, err := s.lookupCity(ctx); err == nil {
		areas = append(areas, city)
	} else {
		var pe *ParamError
		if errors.As(err, &pe) {
			return rep, nil // nothing loaded
		}
		return nil, err
	}
	rows, err = s.db.Query(ctx, selectStreets)
	if err != nil {
		return nil, fmt.Errorf("hotspot: standard: streets: %w", err)
	}
	for rows.Next() {
		a := &studyArea{Area: Area{Kind: "admin"}}
		var g []byte
		if err := rows.Scan(&a.Code, &a.Level, &a.Name, &a.prefix, &a.version, &g); err != nil {
			rows.Close()
			return nil, fmt.Errorf("hotspot: standard: streets: %w", err)
		}
		if len(a.prefix) != 9 {
			rows.Close()
			return nil, fmt.Errorf("hotspot: standard: street %s is not a 12-digit code", a.Code)
		}
		a.wkbs = [][]byte{g}
		areas = append(areas, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("hotspot: standard: streets: %w", err)
	}

	// counts[area prefix][category] (prefix "" = city, category "" = all)
	counts := map[string]map[string][]cellCount{}
	add := func(prefix, cat string, c cellCount) {
		m := counts[prefix]
		if m == nil {
			m = map[string][]cellCount{}
			counts[prefix] = m
		}
		m[cat] = append(m[cat], c)
	}
	rows, err = s.db.Query(ctx, countStandard, StandardRes, rep.From, rep.To)
	if err != nil {
		return nil, fmt.Errorf("hotspot: standard: count events: %w", err)
	}
	var c cellCount
	var street *string
	var cat string
	_, err = pgx.ForEachRow(rows, []any{&c.cell, &street, &cat, &c.n, &c.key}, func() error {
		add("", "", c)
		add("", cat, c)
		if street != nil {
			add(*street, "", c)
			add(*street, cat, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hotspot: standard: count events: %w", err)
	}

	cats := append([]string{""}, tops...)
	for _, a := range areas {
		w, werr := s.weights(a, StandardRes, StandardK)
		if werr != nil && !errors.Is(werr, stats.ErrTooFewCells) {
			return nil, werr
		}
		for _, cat := range cats {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			p := Params{Area: a.Code, Category: cat, Res: StandardRes, K: StandardK, From: rep.From, To: rep.To, By: ByCount}
			var r *Result
			if werr != nil {
				r = nothing(&Result{Params: p, Area: a.Area, ComputedAt: to}, fmt.Sprintf("no cell centre at resolution %d lies inside the area", StandardRes))
			} else if r, err = compute(p, a.Area, w, counts[a.prefix][cat], nil, s.rule, to); err != nil {
				return nil, err
			}
			alerts, err := s.Store(ctx, r, true)
			if err != nil {
				return nil, err
			}
			rep.Runs++
			if r.Status != StatusOK {
				rep.Nothing++
			}
			rep.Alerts = append(rep.Alerts, alerts...)
		}
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// scheduleLock keeps two servers on one database from running the standard set
// at once.
const scheduleLock = 7_340_021_400

// Schedule runs the standard set now and then every interval until ctx ends.
// Failures are logged, not returned: the next tick tries again.
func (s *Service) Schedule(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.runScheduled(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) runScheduled(ctx context.Context) {
	log := s.cfg.Log
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("hotspot standard set", "error", err)
		}
		return
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, scheduleLock).Scan(&got); err != nil || !got {
		if err != nil && ctx.Err() == nil {
			log.Error("hotspot standard set: lock", "error", err)
		}
		return
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, scheduleLock)
	// The server's own work: the whole city, as the system (serve connects as the
	// application role, which row-level security narrows like any caller).
	var rep *StandardReport
	err = scope.Run(ctx, conn, scope.System(), func(tx pgx.Tx) error {
		var err error
		rep, err = s.On(tx).RunStandard(ctx)
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			log.Error("hotspot standard set", "error", err)
		}
		return
	}
	log.Info("hotspot standard set", "runs", rep.Runs, "nothing_to_find", rep.Nothing, "alerts", len(rep.Alerts), "ms", rep.Took.Milliseconds())
}
