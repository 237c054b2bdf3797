package query

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/geo"
)

//go:embed sql/address_search.sql
var addressSearchSQL string

// Address is a standard address as the API shows it.
type Address struct {
	ID        int64    `json:"id"`
	ParentID  *int64   `json:"parent_id,omitempty"`
	Level     string   `json:"level"`
	Text      string   `json:"text"`
	Code      *string  `json:"code"`
	AdminCode *string  `json:"admin_code"`
	GridCode  *string  `json:"grid_code"`
	Lon       *float64 `json:"lon"`
	Lat       *float64 `json:"lat"`
	H3        *string  `json:"h3,omitempty"`
	Status    string   `json:"status"`
	Aliases   []string `json:"aliases,omitempty"`
}

// AddressDetail is an address with its ancestors (root first) and children.
type AddressDetail struct {
	Address
	Ancestors     []Address `json:"ancestors"`
	Children      []Address `json:"children"`
	ChildCount    int64     `json:"child_count"`
	ChildrenLimit int       `json:"children_limit"`
}

const addressCols = `a.id, a.parent_id, a.level, a.full_text, a.code, a.admin_code, a.grid_code, ST_X(a.geom), ST_Y(a.geom), a.h3, a.status`

func scanAddress(row pgx.Row) (Address, error) {
	var a Address
	var h3 *int64
	err := row.Scan(&a.ID, &a.ParentID, &a.Level, &a.Text, &a.Code, &a.AdminCode, &a.GridCode, &a.Lon, &a.Lat, &h3, &a.Status)
	if h3 != nil {
		s := fmt.Sprintf("%x", *h3)
		a.H3 = &s
	}
	return a, err
}

const (
	addressByIDSQL        = `SELECT ` + addressCols + `, coalesce((SELECT array_agg(alias ORDER BY alias) FROM address_alias WHERE address_id = a.id), '{}') FROM address a WHERE a.id = $1`
	addressAncestorsSQL   = `WITH RECURSIVE up(id, depth) AS (SELECT parent_id, 1 FROM address WHERE id = $1 AND parent_id IS NOT NULL UNION ALL SELECT p.parent_id, up.depth + 1 FROM up JOIN address p ON p.id = up.id WHERE p.parent_id IS NOT NULL AND up.depth < 32) SELECT ` + addressCols + ` FROM up JOIN address a ON a.id = up.id ORDER BY up.depth DESC`
	addressChildrenSQL    = `SELECT ` + addressCols + ` FROM address a WHERE a.parent_id = $1 ORDER BY a.code NULLS LAST, a.id LIMIT $2`
	addressChildCountSQL  = `SELECT count(*) FROM address WHERE parent_id = $1`
	addressNearSQL        = `SELECT ` + addressCols + `, ST_Distance(a.geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) AS d FROM address a WHERE a.status = 'active' AND a.geom_3857 && ST_Expand(ST_SetSRID(ST_MakePoint($5, $6), 3857), $3) AND ST_DWithin(a.geom_3857, ST_SetSRID(ST_MakePoint($5, $6), 3857), $3) ORDER BY a.geom_3857 <-> ST_SetSRID(ST_MakePoint($5, $6), 3857), a.id LIMIT $4`
	maxAddressSearchQuery = 100
)

// Address returns address id with its ancestors and up to childLimit children.
func (s *Store) Address(ctx context.Context, id int64, childLimit int) (*AddressDetail, error) {
	var d AddressDetail
	row := s.db.QueryRow(ctx, addressByIDSQL, id)
	var h3 *int64
	err := row.Scan(&d.ID, &d.ParentID, &d.Level, &d.Text, &d.Code, &d.AdminCode, &d.GridCode, &d.Lon, &d.Lat, &h3, &d.Status, &d.Aliases)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("address %d: %w", id, err)
	}
	if h3 != nil {
		s := fmt.Sprintf("%x", *h3)
		d.H3 = &s
	}
	if d.Ancestors, err = s.addresses(ctx, addressAncestorsSQL, id); err != nil {
		return nil, fmt.Errorf("address %d ancestors: %w", id, err)
	}
	if d.Children, err = s.addresses(ctx, addressChildrenSQL, id, childLimit); err != nil {
		return nil, fmt.Errorf("address %d children: %w", id, err)
	}
	if err := s.db.QueryRow(ctx, addressChildCountSQL, id).Scan(&d.ChildCount); err != nil {
		return nil, fmt.Errorf("address %d children: %w", id, err)
	}
	d.ChildrenLimit = childLimit
	return &d, nil
}

func (s *Store) addresses(ctx context.Context, sql string, args ...any) ([]Address, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	out := []Address{}
	for rows.Next() {
		a, err := scanAddress(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ErrNotFound is returned when the thing asked for does not exist.
var ErrNotFound = errors.New("not found")

// SearchHit is an address found by text, with what matched and how well.
type SearchHit struct {
	Address
	Matched string  `json:"matched"`
	ByAlias bool    `json:"by_alias"`
	Rank    float64 `json:"rank"`
}

// ParseSearchText checks a search text: 1..100 characters of valid UTF-8.
func ParseSearchText(param, q string) (string, error) {
	q = strings.TrimSpace(q)
	if err := CheckText(param, q); err != nil {
		return "", err
	}
	switch {
	case q == "":
		return "", paramErr(param, "required")
	case utf8.RuneCountInString(q) > maxAddressSearchQuery:
		return "", paramErr(param, "too long (at most %d characters)", maxAddressSearchQuery)
	}
	return q, nil
}

// SearchAddresses finds up to limit addresses whose text or an alias matches q.
func (s *Store) SearchAddresses(ctx context.Context, q string, limit int) ([]SearchHit, error) {
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
	rows, err := s.db.Query(ctx, addressSearchSQL, q, like, limit)
	if err != nil {
		return nil, fmt.Errorf("search addresses: %w", err)
	}
	defer rows.Close()
	out := []SearchHit{}
	for rows.Next() {
		var h SearchHit
		if err := rows.Scan(&h.ID, &h.Level, &h.Text, &h.Code, &h.AdminCode, &h.GridCode, &h.Lon, &h.Lat, &h.Status, &h.Matched, &h.ByAlias, &h.Rank); err != nil {
			return nil, fmt.Errorf("search addresses: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search addresses: %w", err)
	}
	return out, nil
}

// NearHit is an address with its geodesic distance from the query point.
type NearHit struct {
	Address
	DistanceM float64 `json:"distance_m"`
}

// NearAddresses returns up to limit active addresses within radiusM metres of
// (lon, lat), nearest first (KNN on the conformal Web Mercator column, distances geodesic).
func (s *Store) NearAddresses(ctx context.Context, lon, lat, radiusM float64, limit int) ([]NearHit, error) {
	x, y := geo.LonLatToMercator(lon, lat)
	rows, err := s.db.Query(ctx, addressNearSQL, lon, lat, mercatorRadius(lat, radiusM), limit, x, y)
	if err != nil {
		return nil, fmt.Errorf("addresses near (%g, %g): %w", lon, lat, err)
	}
	defer rows.Close()
	out := []NearHit{}
	for rows.Next() {
		var h NearHit
		var h3 *int64
		if err := rows.Scan(&h.ID, &h.ParentID, &h.Level, &h.Text, &h.Code, &h.AdminCode, &h.GridCode, &h.Lon, &h.Lat, &h3, &h.Status, &h.DistanceM); err != nil {
			return nil, fmt.Errorf("addresses near (%g, %g): %w", lon, lat, err)
		}
		if h3 != nil {
			s := fmt.Sprintf("%x", *h3)
			h.H3 = &s
		}
		if h.DistanceM > radiusM {
			continue // just outside: the index test is padded by 1 %
		}
		h.DistanceM = math.Round(h.DistanceM*100) / 100
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("addresses near (%g, %g): %w", lon, lat, err)
	}
	return out, nil
}
