package event

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onegrid/onegrid/geo"
)

// Report is a new event as intake reports it.
type Report struct {
	Category string // an event_category code (any level)
	Severity string // General, Important or Urgent; "" is General
	Source   string // one of Sources
	Title    string // short text, at most MaxTitle characters; may be empty
	// Point is where the event is, WGS-84 [lon, lat]; nil to take the address's.
	Point *[2]float64
	// AddressID is the standard address the event concerns; 0 for none. An
	// event needs a Point or an address with a point.
	AddressID int64
	// At is when the event was reported: the server's clock (clock.Clock) read
	// by the caller, never a time the reporter sends.
	At time.Time
	// Actor says who recorded the first step: a channel or a role ("app",
	// "grid worker", "demo pulse"), never a person's name (steps are shown).
	Actor string
	// Dataset names where the event came from ("" for none); the demo pulse
	// files its events under the dataset of the events it imitates, so that
	// replacing a generated city takes them along.
	Dataset string
}

// The category's base time limit, and whether it exists.
const categoryLimitSQL = `SELECT time_limit_hours FROM event_category WHERE code = $1`

// The address's point (NULL when it has none).
const addressPointSQL = `SELECT ST_X(geom), ST_Y(geom) FROM address WHERE id = $1`

// createSQL inserts the event, linked as the loaders link a file (link_grid at
// the reported time, link_community; migration 0630); stepSQL then appends its
// first step. Two statements in one transaction: the step's row-level security
// policy looks the event up, which a statement cannot see that it inserted
// itself. The event trigger (migration 0500) announces the event when the
// transaction commits.
//
//	$1 category, $2 severity, $3 source, $4 title, $5 reported at, $6 deadline,
//	$7 address id (NULL: none), $8 lon, $9 lat, $10 H3 res-12 cell, $11 dataset
const createSQL = `
INSERT INTO event (category_code, severity, source, status, title, reported_at, deadline, address_id,
    geom, h3, admin_code, grid_code, grid_version, dataset)
SELECT $1, $2, $3, 'reported', $4, $5, $6, $7, p.g, $10, coalesce(co.code, gr.admin_code), gr.code, gr.version, $11
FROM (SELECT ST_SetSRID(ST_MakePoint($8, $9), 4326) AS g) p
LEFT JOIN LATERAL link_grid(p.g, $5) gr ON true
LEFT JOIN LATERAL link_community(p.g) co ON true
RETURNING id`

// stepSQL appends a step: $1 event, $2 at, $3 status, $4 actor, $5 note.
const stepSQL = `INSERT INTO event_step (event_id, at, status, actor, note) VALUES ($1, $2, $3, $4, $5)`

// Create writes a new event and its first step ('reported') and returns its id.
// It validates r (an *InputError names the field at fault), links the event's
// point to the finest grid current at r.At, its community and its H3 res-12
// cell, and sets its deadline with Deadline from the category's time limit and
// the severity. A point outside every grid is kept, with no grid and no
// community, as the loaders keep it. Event and step are written in one
// transaction (a savepoint when db is a transaction).
func Create(ctx context.Context, db DB, r Report) (int64, error) {
	severity, err := r.check()
	if err != nil {
		return 0, err
	}
	var limit int
	if err := db.QueryRow(ctx, categoryLimitSQL, r.Category).Scan(&limit); err != nil {
		if isNoRows(err) {
			return 0, inputErr("category", "unknown category %q", r.Category)
		}
		return 0, fmt.Errorf("event category %s: %w", r.Category, err)
	}
	var address any
	if r.AddressID != 0 {
		address = r.AddressID
		var lon, lat *float64
		if err := db.QueryRow(ctx, addressPointSQL, r.AddressID).Scan(&lon, &lat); err != nil {
			if isNoRows(err) {
				return 0, inputErr("address_id", "no address %d", r.AddressID)
			}
			return 0, fmt.Errorf("address %d: %w", r.AddressID, err)
		}
		if r.Point == nil {
			if lon == nil || lat == nil {
				return 0, inputErr("point", "required: address %d has no location", r.AddressID)
			}
			r.Point = &[2]float64{*lon, *lat}
		}
	}
	p := *r.Point
	cell, err := geo.CellAt(p[0], p[1], geo.StorageRes)
	if err != nil {
		return 0, inputErr("point", "no H3 cell for (%g, %g): %v", p[0], p[1], err)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("create event: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	var id int64
	err = tx.QueryRow(ctx, createSQL, r.Category, severity, r.Source, strings.TrimSpace(r.Title), r.At,
		Deadline(r.At, limit, severity), address, p[0], p[1], cell, r.Dataset).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create event: %w", err)
	}
	if _, err := tx.Exec(ctx, stepSQL, id, r.At, Reported, r.Actor, ""); err != nil {
		return 0, fmt.Errorf("create event: first step: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("create event: %w", err)
	}
	return id, nil
}

// check validates everything that needs no database and returns the severity.
func (r *Report) check() (string, error) {
	if r.Category == "" {
		return "", inputErr("category", "required")
	}
	severity, err := checkSeverity(r.Severity)
	if err != nil {
		return "", err
	}
	if r.Source == "" {
		return "", inputErr("source", "required: one of %v", Sources)
	}
	if err := checkEnum("source", r.Source, Sources); err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(r.Title)); n > MaxTitle {
		return "", inputErr("title", "%d characters, at most %d", n, MaxTitle)
	}
	if !utf8.ValidString(r.Title) {
		return "", inputErr("title", "not valid UTF-8")
	}
	if err := checkActor(r.Actor); err != nil {
		return "", err
	}
	if r.At.IsZero() {
		return "", inputErr("at", "required: the time of the report")
	}
	if r.Point == nil && r.AddressID == 0 {
		return "", inputErr("point", "required: a point or an address")
	}
	if r.AddressID < 0 {
		return "", inputErr("address_id", "%d: must be positive", r.AddressID)
	}
	if r.Point != nil {
		lon, lat := r.Point[0], r.Point[1]
		switch {
		case math.IsNaN(lon) || math.IsInf(lon, 0) || lon < -180 || lon > 180:
			return "", inputErr("point", "longitude %g: must be -180..180", lon)
		case math.IsNaN(lat) || math.IsInf(lat, 0) || lat < -90 || lat > 90:
			return "", inputErr("point", "latitude %g: must be -90..90", lat)
		}
	}
	return severity, nil
}
