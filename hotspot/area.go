package hotspot

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/uber/h3-go/v4"

	"github.com/onegrid/onegrid/geo"
	stats "github.com/onegrid/onegrid/geo/hotspot"
)

// studyArea is a resolved area: what it is, the prefix that selects its rows
// by jurisdiction, a version that changes when its outline does, and the
// outline itself (WKB, parsed only when the weights are not cached).
type studyArea struct {
	Area
	prefix  string   // unit_prefix(code); "" for the whole city
	version string   // md5 of the outline(s)
	wkbs    [][]byte // the outline(s), WKB
}

// codePattern is what an area or category code may look like; anything else
// is rejected before it reaches the database.
var codePattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,40}$`)

const selectAdminArea = `SELECT level, name, unit_prefix(code), md5(ST_AsBinary(geom)), ST_AsBinary(geom)
FROM admin_area WHERE code = $1`

const selectGrid = `SELECT level, name, unit_prefix(code), version::text || ':' || md5(ST_AsBinary(geom)), ST_AsBinary(geom)
FROM grid WHERE code = $1 AND valid_to IS NULL ORDER BY version DESC LIMIT 1`

// selectCity returns the outlines of the coarsest loaded admin level below city.
const selectCity = `WITH lvl AS (
    SELECT level FROM admin_area WHERE level IN ('district', 'street', 'community')
    ORDER BY array_position(ARRAY['district', 'street', 'community'], level) LIMIT 1)
SELECT code, md5(ST_AsBinary(geom)), ST_AsBinary(geom)
FROM admin_area WHERE level = (SELECT level FROM lvl) ORDER BY code`

// lookupArea resolves an area code ("" = the whole city): an admin area first,
// else the current version of a grid.
func (s *Service) lookupArea(ctx context.Context, code string) (*studyArea, error) {
	if code == "" {
		return s.lookupCity(ctx)
	}
	if !codePattern.MatchString(code) {
		return nil, paramErr("area", "not an area code")
	}
	a := &studyArea{Area: Area{Code: code, Kind: "admin"}}
	var g []byte
	err := s.db.QueryRow(ctx, selectAdminArea, code).Scan(&a.Level, &a.Name, &a.prefix, &a.version, &g)
	if errors.Is(err, pgx.ErrNoRows) {
		a.Kind = "grid"
		err = s.db.QueryRow(ctx, selectGrid, code).Scan(&a.Level, &a.Name, &a.prefix, &a.version, &g)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, paramErr("area", "no admin area or current grid with code %s", code)
	}
	if err != nil {
		return nil, fmt.Errorf("hotspot: look up area %s: %w", code, err)
	}
	a.wkbs = [][]byte{g}
	return a, nil
}

func (s *Service) lookupCity(ctx context.Context) (*studyArea, error) {
	rows, err := s.db.Query(ctx, selectCity)
	if err != nil {
		return nil, fmt.Errorf("hotspot: look up city: %w", err)
	}
	a := &studyArea{Area: Area{Kind: "city", Level: "city", Name: "city"}}
	var code, md5 string
	var g []byte
	_, err = pgx.ForEachRow(rows, []any{&code, &md5, &g}, func() error {
		a.version += code + ":" + md5 + ";"
		a.wkbs = append(a.wkbs, append([]byte(nil), g...))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hotspot: look up city: %w", err)
	}
	if len(a.wkbs) == 0 {
		return nil, paramErr("area", "no admin areas are loaded")
	}
	return a, nil
}

// cells returns the study area's cells at res.
func (a *studyArea) cells(res int) ([]h3.Cell, error) {
	var out []h3.Cell
	for _, b := range a.wkbs {
		g, err := wkb.Unmarshal(b)
		if err != nil {
			return nil, fmt.Errorf("hotspot: area %q outline: %w", a.Code, err)
		}
		if p, ok := g.(orb.Polygon); ok {
			g = orb.MultiPolygon{p}
		}
		cs, err := geo.CellsInPolygon(g, res)
		if errors.Is(err, geo.ErrTooManyCells) {
			return nil, paramErr("res", "the area is too large at resolution %d: choose a coarser resolution or a smaller area", res)
		}
		if err != nil {
			return nil, fmt.Errorf("hotspot: area %q cells: %w", a.Code, err)
		}
		for _, c := range cs {
			out = append(out, h3.Cell(c))
		}
	}
	return out, nil
}

// ringSize is the number of cells within grid distance k (self included).
func ringSize(k int) int { return 3*k*(k+1) + 1 }

// weights returns the cached neighbour weights of the area at (res, k).
// An area without cells gives stats.ErrTooFewCells.
func (s *Service) weights(a *studyArea, res, k int) (*stats.Weights, error) {
	key := stats.CacheKey{Area: a.Kind + ":" + a.Code + "@" + a.version, Res: res, K: k}
	return s.cache.Get(key, func() (*stats.Weights, error) {
		cells, err := a.cells(res)
		if err != nil {
			return nil, err
		}
		if len(cells) > MaxCells || len(cells)*ringSize(k) > MaxLinks {
			return nil, paramErr("res", "the area has %d cells at resolution %d, too many for k = %d: choose a coarser resolution, a smaller k or a smaller area", len(cells), res, k)
		}
		if len(cells) == 0 {
			return nil, fmt.Errorf("hotspot: area %q: no cell centre inside it: %w", a.Code, stats.ErrTooFewCells)
		}
		w, err := stats.NewH3Weights(cells, k)
		if err != nil {
			return nil, fmt.Errorf("hotspot: weights for %q: %w", a.Code, err)
		}
		return w, nil
	})
}

const selectCategory = `SELECT true FROM event_category WHERE code = $1`

func (s *Service) checkCategory(ctx context.Context, code string) error {
	if code == "" {
		return nil
	}
	if !codePattern.MatchString(code) {
		return paramErr("category", "not a category code")
	}
	var ok bool
	err := s.db.QueryRow(ctx, selectCategory, code).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return paramErr("category", "no event category with code %s", code)
	}
	if err != nil {
		return fmt.Errorf("hotspot: look up category %s: %w", code, err)
	}
	return nil
}

func h3Cell(c int64) h3.Cell { return h3.Cell(c) }
