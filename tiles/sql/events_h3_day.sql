-- events_h3 for a window of whole China days: event counts per H3 cell at resolution
-- $4 for tile $1/$2/$3 (z/x/y), cells found by their representative point within $5
-- metres of the tile, days in [$6, $7) (NULL = open-ended), statuses $8 (NULL = all).
-- The daily counts keep resolutions 6..8 only (schema 0206); finer cells are
-- grouped from the event rows (events_h3_raw.sql).
SELECT cell, sum(n)::int AS events,
       coalesce(sum(n) FILTER (WHERE status IN ('reported', 'dispatched', 'handling')), 0)::int AS open
FROM tile_event_h3_day
WHERE res = $4 AND rep && ST_Expand(ST_TileEnvelope($1, $2, $3), $5)
  AND ($6::date IS NULL OR day >= $6) AND ($7::date IS NULL OR day < $7)
  AND ($8::text[] IS NULL OR status = ANY ($8))
GROUP BY cell
HAVING sum(n) > 0;
