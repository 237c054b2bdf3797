-- hotspots for a jurisdiction smaller than the whole city, which may not see the
-- whole city's analysis (row-level security on hotspot_run answers only runs whose
-- area lies inside the jurisdiction): the latest stored standard run of each area
-- it sees that no other area it sees contains (each street of a district; a street
-- itself; nothing for a community or a grid, which no standard run covers alone),
-- drawn together. A cell in the study areas of two such runs (on a street
-- boundary) is drawn once, with its strongest result. Parameters and columns as
-- hotspots.sql.
WITH params AS (
    SELECT $4::timestamptz AS from_at, $5::timestamptz AS to_at, $7::text[] AS status,
           coalesce($6::text, '') AS category
), env AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS e
), areas AS (
    SELECT DISTINCT r.area FROM hotspot_run r, params WHERE r.standard AND r.category = params.category
), top AS (
    SELECT a.area FROM areas a
    WHERE NOT EXISTS (SELECT 1 FROM areas b WHERE b.area <> a.area AND inside(a.area, unit_prefix(b.area)))
), cells AS (
    SELECT DISTINCT ON (c.cell) c.*
    FROM top, params, env, hotspot_latest_cells(top.area, params.category) c
    WHERE c.geom_3857 && env.e AND (c.bin <> 0 OR c.bin_fdr <> 0)
    ORDER BY c.cell, c.bin_fdr DESC, c.bin DESC, c.z DESC
)
SELECT coalesce((
    SELECT ST_AsMVT(m, 'hotspots', 4096, 'geom', 'id') FROM (
        SELECT c.cell AS id, h3_text(c.cell) AS cell, c.count, round(c.z::numeric, 3)::float8 AS z,
               c.p, c.bin, c.bin_fdr, c.computed_at::text AS computed_at,
               ST_AsMVTGeom(c.geom_3857, env.e, 4096, 64, true) AS geom
        FROM cells c, env
    ) m WHERE m.geom IS NOT NULL
), ''::bytea);
