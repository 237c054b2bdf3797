-- events: event points for tile $1/$2/$3 (z/x/y) and its buffer, filtered by
-- reported_at in [$4, $5) (NULL = open-ended), category code prefix $6 and statuses
-- $7 (NULL = all), with their Web Mercator coordinates; the service encodes them
-- (ST_AsMVT cost about 6 µs a point, most of a dense tile) and works out age_days
-- and overdue from reported_at and deadline (computing them here took a sixth of
-- the query's time).
SELECT v.id, ST_X(v.geom_3857), ST_Y(v.geom_3857), v.category_code, v.severity, v.status, v.source,
       v.escalation::int, v.reported_at, v.deadline
FROM event v, (SELECT ST_TileEnvelope($1, $2, $3) AS e) env
-- The tile and its buffer as a lon/lat box (Web Mercator boxes map to lon/lat boxes
-- exactly), widened by about a centimetre against rounding: the service drops
-- points outside the buffer after snapping them.
WHERE v.geom && ST_Expand(ST_Transform(ST_Expand(env.e, (ST_XMax(env.e) - ST_XMin(env.e)) * 64 / 4096), 4326), 1e-7)
  AND ($4::timestamptz IS NULL OR v.reported_at >= $4)
  AND ($5::timestamptz IS NULL OR v.reported_at < $5)
  AND ($6::text IS NULL OR inside(v.category_code, $6))
  AND ($7::text[] IS NULL OR v.status = ANY ($7));
