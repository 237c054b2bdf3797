package query

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/sdc"
)

// DB is what the package needs from the database: a *pgxpool.Pool or a pgx.Tx.
type DB interface {
	scope.DB
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Config holds the limits and thresholds of the package; zero fields take defaults.
type Config struct {
	// MinCount is the disclosure-control threshold k and rounding base (package
	// sdc): a count below it is suppressed, every other released count is a
	// multiple of it. Default 5; at most sdc.MaxK.
	MinCount int
	// Polygon bounds uploaded polygons.
	Polygon PolygonLimits
	// MaxPolygons caps the features of group_by=polygons. Default 500.
	MaxPolygons int
	// MaxGroups caps the groups of one aggregate answer. Default 50,000.
	MaxGroups int
	// Band is the size band a grid's load is checked against, per grid level.
	Band map[string]Band
	// Now is the server's clock (nil: the system clock): default windows end at
	// it and an open event is overdue when its deadline is before it.
	Now clock.Clock
}

// Band is the size a grid of some level should have.
type Band struct {
	MinHouseholds int `json:"min_households"`
	MaxHouseholds int `json:"max_households"`
	MinPeople     int `json:"min_people"`
	MaxPeople     int `json:"max_people"`
}

// DefaultBands: micro-grids of 50–110 households / 150–330 people (Pizhou practice).
func DefaultBands() map[string]Band {
	return map[string]Band{"micro_grid": {MinHouseholds: 50, MaxHouseholds: 110, MinPeople: 150, MaxPeople: 330}}
}

// Store answers the questions of the package against a database. The server's
// store is bound per request to the caller's scoped transaction (On), where the
// database's row-level security narrows every answer to the jurisdiction.
type Store struct {
	db   DB
	cfg  Config
	sc   scope.Scope
	rule sdc.Rule
	// presenceCache is shared by the store's per-request copies (On).
	presenceCache *presenceCache
}

// On returns the store answering through db (the request's transaction, which
// carries sc's identity) for the scope sc.
func (s *Store) On(db DB, sc scope.Scope) *Store {
	c := *s
	c.db, c.sc = db, sc
	return &c
}

// New returns a Store over db.
func New(db DB, cfg Config) *Store {
	if cfg.MinCount <= 0 {
		cfg.MinCount = 5
	}
	cfg.MinCount = min(cfg.MinCount, sdc.MaxK)
	if cfg.Polygon.MaxVertices <= 0 {
		cfg.Polygon.MaxVertices = DefaultPolygonLimits.MaxVertices
	}
	if cfg.Polygon.MaxAreaKm2 <= 0 {
		cfg.Polygon.MaxAreaKm2 = DefaultPolygonLimits.MaxAreaKm2
	}
	if cfg.MaxPolygons <= 0 {
		cfg.MaxPolygons = 500
	}
	if cfg.MaxGroups <= 0 {
		cfg.MaxGroups = 50_000
	}
	if cfg.Band == nil {
		cfg.Band = DefaultBands()
	}
	cfg.Now = clock.Or(cfg.Now)
	return &Store{db: db, cfg: cfg, rule: sdc.Must(cfg.MinCount), presenceCache: newPresenceCache()}
}

// Config returns the configuration in effect (defaults filled in).
func (s *Store) Config() Config { return s.cfg }

// Rule returns the disclosure-control rule every released count goes through.
func (s *Store) Rule() sdc.Rule { return s.rule }

// checkArea asks PostGIS whether an uploaded polygon is valid (no self-intersections).
func (s *Store) checkArea(ctx context.Context, param string, a Area) error {
	var reason string
	if err := s.db.QueryRow(ctx, `SELECT ST_IsValidReason(ST_GeomFromGeoJSON($1))`, a.GeoJSON).Scan(&reason); err != nil {
		return fmt.Errorf("check polygon: %w", err)
	}
	if reason != "Valid Geometry" {
		return paramErr(param, "polygon is not valid: %s", truncate(reason, 120))
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
