-- events_h3 for a window that holds whole China days: event counts per H3 cell at
-- resolution $4 for tile $1/$2/$3 (z/x/y), statuses $8 (NULL = all). The whole days
-- [$6, $7) (NULL = open-ended) come from the daily counts, whose cells are found by
-- their representative point within $5 metres of the tile; the partial days at the
-- window's ends, [$9, $10) and [$11, $12) (NULL = none), from the event rows within
-- $5 metres of the tile. The screen's windows ("the last 30 days" up to now) always
-- have such ends, and grouping a month of event rows for a tile at z8 took 80 ms.
-- The daily counts keep resolutions 6..8 only (schema 0206); finer cells are
-- grouped from the event rows (events_h3_raw.sql).
SELECT cell, sum(events)::int AS events, sum(open)::int AS open
FROM (
    SELECT cell, n AS events, CASE WHEN status IN ('reported', 'dispatched', 'handling') THEN n ELSE 0 END AS open
    FROM tile_event_h3_day
    WHERE res = $4 AND rep && ST_Expand(ST_TileEnvelope($1, $2, $3), $5)
      AND ($6::date IS NULL OR day >= $6) AND ($7::date IS NULL OR day < $7)
      AND ($8::text[] IS NULL OR status = ANY ($8))
    UNION ALL
    SELECT h3_parent(v.h3, $4), 1, CASE WHEN v.status IN ('reported', 'dispatched', 'handling') THEN 1 ELSE 0 END
    FROM event v
    WHERE v.geom && ST_Transform(ST_Expand(ST_TileEnvelope($1, $2, $3), $5), 4326) -- a lon/lat box: see events.sql
      AND ((v.reported_at >= $9::timestamptz AND v.reported_at < $10::timestamptz)
           OR (v.reported_at >= $11::timestamptz AND v.reported_at < $12::timestamptz))
      AND ($8::text[] IS NULL OR v.status = ANY ($8))
) s
GROUP BY cell
HAVING sum(events) > 0;
