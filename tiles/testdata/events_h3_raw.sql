-- The per-tile query the service ran for windowed or category-filtered events_h3
-- before it held the event index (evindex.go); the tests keep it as the reference
-- the index must match.
-- events_h3 from the event rows, for time or category filters the pre-aggregate
-- cannot answer: counts per H3 cell at resolution $4 for tile $1/$2/$3 (z/x/y), events
-- within $5 metres of the tile, reported_at in [$6, $7), category prefix $8, statuses $9
-- (NULL = no condition).
SELECT h3_parent(v.h3, $4) AS cell, count(*)::int AS events,
       (count(*) FILTER (WHERE v.status IN ('reported', 'dispatched', 'handling')))::int AS open
FROM event v
WHERE v.geom && ST_Transform(ST_Expand(ST_TileEnvelope($1, $2, $3), $5), 4326) -- a lon/lat box: see events.sql
  AND ($6::timestamptz IS NULL OR v.reported_at >= $6)
  AND ($7::timestamptz IS NULL OR v.reported_at < $7)
  AND ($8::text IS NULL OR starts_with(v.category_code, $8))
  AND ($9::text[] IS NULL OR v.status = ANY ($9))
GROUP BY 1;
