-- The per-tile query the service ran before it held the aggregates in memory
-- (h3mem.go); the tests keep it as the reference the in-memory path must match.
-- households_h3: households, people and households per tag per H3 cell at resolution
-- $4 for tile $1/$2/$3 (z/x/y), cells found by their representative point within $5
-- metres of the tile, with the sums of the households' record keys (schema 0770).
-- Every cell and tag count comes raw: the tests apply the disclosure-control rule
-- (small cells left out, the rest rounded) themselves.
SELECT h.cell, h.households, h.people, h.hkey, h.tag_names, h.tag_counts, h.tag_keys
FROM tile_household_h3 h
WHERE h.res = $4 AND h.rep && ST_Expand(ST_TileEnvelope($1, $2, $3), $5);
