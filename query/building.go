package query

import (
	"context"
	"fmt"

	"github.com/onegrid/onegrid/sdc"
)

// Building is what the map shows for a clicked building: its standard address and
// how many households live in it, as released by the disclosure-control rule
// (null when suppressed). No personal data.
type Building struct {
	ID          int64   `json:"id"`
	Name        *string `json:"name"`
	Floors      *int    `json:"floors"`
	Use         *string `json:"use"`
	GridCode    *string `json:"grid_code"`
	AddressID   *int64  `json:"address_id"`
	AddressText *string `json:"address"`
	AddressCode *string `json:"address_code"`
	Households  *int64  `json:"households"` // null: fewer than the threshold
	People      *int64  `json:"people"`     // null with households
}

// buildingSQL counts households on the building's address and every address below
// it (units, floors, rooms), walking the address tree, with their people and the
// sum of their record keys.
const buildingSQL = `
WITH RECURSIVE b AS (
    SELECT id, name, floors, use, grid_code, address_id FROM building WHERE id = $1
), tree AS (
    SELECT a.id FROM address a JOIN b ON a.id = b.address_id
    UNION ALL
    SELECT c.id FROM address c JOIN tree t ON c.parent_id = t.id
), hh AS (
    SELECT count(*) AS n, coalesce(sum(h.members), 0) AS people,
           coalesce(sum(sdc_record_key(h.id, (SELECT seed FROM sdc_secret))), 0)::bigint AS hkey
    FROM household h WHERE h.address_id IN (SELECT id FROM tree)
)
SELECT b.id, b.name, b.floors, b.use, b.grid_code, b.address_id, a.full_text, a.code, hh.n, hh.people, hh.hkey
FROM b LEFT JOIN address a ON a.id = b.address_id, hh`

// Building returns building id with its released household and people counts,
// or ErrNotFound.
func (s *Store) Building(ctx context.Context, id int64) (*Building, error) {
	var b Building
	var n, people, hkey int64
	err := s.db.QueryRow(ctx, buildingSQL, id).Scan(&b.ID, &b.Name, &b.Floors, &b.Use, &b.GridCode,
		&b.AddressID, &b.AddressText, &b.AddressCode, &n, &people, &hkey)
	if isNoRows(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("building %d: %w", id, err)
	}
	if v, ok := s.rule.Count(n, hkey, sdc.Households); ok {
		p, _ := s.rule.Sum(people, n, hkey, sdc.People)
		b.Households, b.People = &v, &p
	}
	return &b, nil
}
