package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// buildingSummary is what the map shows for a clicked building: its standard
// address and how many households live in it. No personal data.
type buildingSummary struct {
	ID          int64   `json:"id"`
	Name        *string `json:"name"`
	Floors      *int    `json:"floors"`
	Use         *string `json:"use"`
	GridCode    *string `json:"grid_code"`
	AddressID   *int64  `json:"address_id"`
	AddressText *string `json:"address"`
	AddressCode *string `json:"address_code"`
	Households  int64   `json:"households"`
	People      int64   `json:"people"`
}

// buildingSQL counts households on the building's address and every address below
// it (units, floors, rooms), walking the address tree.
const buildingSQL = `
WITH RECURSIVE b AS (
    SELECT id, name, floors, use, grid_code, address_id FROM building WHERE id = $1
), tree AS (
    SELECT a.id FROM address a JOIN b ON a.id = b.address_id
    UNION ALL
    SELECT c.id FROM address c JOIN tree t ON c.parent_id = t.id
)
SELECT b.id, b.name, b.floors, b.use, b.grid_code, b.address_id, a.full_text, a.code,
       (SELECT count(*) FROM household h WHERE h.address_id IN (SELECT id FROM tree)),
       (SELECT coalesce(sum(h.members), 0) FROM household h WHERE h.address_id IN (SELECT id FROM tree))
FROM b LEFT JOIN address a ON a.id = b.address_id`

// handleBuilding serves GET /api/v1/buildings/{id}.
func (s *Server) handleBuilding(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, r, BadRequest("id", "must be a positive integer"))
		return
	}
	var b buildingSummary
	// Its household counts are aggregates: counted in the caller's jurisdiction.
	err = s.runAs(r, scopeOf(r).Aggregating(), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, buildingSQL, id).Scan(&b.ID, &b.Name, &b.Floors, &b.Use, &b.GridCode,
			&b.AddressID, &b.AddressText, &b.AddressCode, &b.Households, &b.People)
	})
	if isNoRows(err) {
		writeError(w, r, NotFound("building"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.rows(r, 1)
	writeJSON(w, http.StatusOK, b)
}
