-- The per-tile query the service ran before it held the aggregates in memory
-- (h3mem.go); the tests keep it as the reference the in-memory path must match.
-- events_h3 from the pre-aggregate: event counts per H3 cell at resolution $4 for
-- tile $1/$2/$3 (z/x/y), cells found by their representative point within $5 metres
-- of the tile (at least a cell's diameter, so every cell touching the tile is found),
-- statuses $6 (NULL = all).
SELECT cell, sum(n)::int AS events, coalesce(sum(n) FILTER (WHERE status IN ('reported', 'dispatched', 'handling')), 0)::int AS open
FROM tile_event_h3
WHERE res = $4 AND rep && ST_Expand(ST_TileEnvelope($1, $2, $3), $5)
  AND ($6::text[] IS NULL OR status = ANY ($6))
GROUP BY cell
HAVING sum(n) > 0;
