-- The per-tile query the service ran before it held the aggregates in memory
-- (h3mem.go); the tests keep it as the reference the in-memory path must match.
-- households_h3: households, people and households per tag per H3 cell at resolution
-- $4 for tile $1/$2/$3 (z/x/y), cells found by their representative point within $5
-- metres of the tile. Cells with fewer than $6 households are left out (and the
-- renderer leaves out tag counts below $6): small counts could single out a household.
SELECT h.cell, h.households, h.people, h.tag_names, h.tag_counts
FROM tile_household_h3 h
WHERE h.res = $4 AND h.rep && ST_Expand(ST_TileEnvelope($1, $2, $3), $5) AND h.households >= $6;
