-- The per-tile query the service ran before it encoded event points itself
-- (events.go); the tests keep it as the reference the encoding must match.
-- events: event points for tile $1/$2/$3 (z/x/y), filtered by reported_at in
-- [$4, $5) (NULL = open-ended), category code prefix $6 and statuses $7 (NULL = all).
-- age_days is whole days since the event was reported; overdue is an open event past
-- its deadline.
WITH env AS (
    SELECT e, ST_Expand(e, (ST_XMax(e) - ST_XMin(e)) * 64 / 4096) AS eb
    FROM ST_TileEnvelope($1, $2, $3) AS e
)
SELECT coalesce((
    SELECT ST_AsMVT(m, 'events', 4096, 'geom', 'id') FROM (
        SELECT v.id, v.category_code AS category, v.severity, v.status, v.source, v.escalation,
               floor(extract(epoch FROM now() - v.reported_at) / 86400)::int AS age_days,
               (v.status IN ('reported', 'dispatched', 'handling') AND v.deadline < now()) AS overdue,
               ST_AsMVTGeom(v.geom_3857, env.e, 4096, 64, true) AS geom
        FROM event v, env
        WHERE v.geom_3857 && env.eb
          AND ($4::timestamptz IS NULL OR v.reported_at >= $4)
          AND ($5::timestamptz IS NULL OR v.reported_at < $5)
          AND ($6::text IS NULL OR starts_with(v.category_code, $6))
          AND ($7::text[] IS NULL OR v.status = ANY ($7))
    ) m WHERE m.geom IS NOT NULL
), ''::bytea);
