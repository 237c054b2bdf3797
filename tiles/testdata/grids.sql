-- The per-tile query the service ran before it drew the outline layers itself
-- (unitmem.go); the tests keep it as the reference the drawing must match. The
-- load figures come raw, with hkey (the households' key sum, modulo 2^32): the
-- tests apply the disclosure-control rule themselves.
-- grids: current grids (valid_to IS NULL) for tile $1/$2/$3 (z/x/y): level 'grid' at
-- z12-13, 'micro_grid' from z14, with load figures from tile_load summed over the
-- grid's code prefix (grid codes are hierarchical, GB/T 30428: a micro-grid's code
-- starts with its grid's), one B-tree range scan per grid. grid_label: one point on each grid's surface,
-- in the tile that contains it.
WITH env AS (
    SELECT e, ST_Expand(e, (ST_XMax(e) - ST_XMin(e)) * 64 / 4096) AS eb
    FROM ST_TileEnvelope($1, $2, $3) AS e
), unit AS (
    SELECT g.id, g.code, g.name, g.level, g.version, g.parent_code, g.geom_3857 AS geom
    FROM grid g, env
    WHERE g.geom_3857 && env.eb AND g.valid_to IS NULL
      AND g.level = CASE WHEN $1 <= 13 THEN 'grid' ELSE 'micro_grid' END
), feat AS (
    SELECT u.id, u.code, u.name, u.level, u.version, u.parent_code, u.geom,
           coalesce(l.households, 0) AS households, coalesce(l.people, 0) AS people,
           coalesce(l.open_events, 0) AS open_events, coalesce(l.hkey, 0) AS hkey
    FROM unit u
    LEFT JOIN LATERAL (
        SELECT sum(t.households)::int AS households, sum(t.people)::int AS people, sum(t.open_events)::int AS open_events,
               mod(sum(t.hkey), 4294967296)::bigint AS hkey
        FROM tile_load t
        WHERE t.kind = 'grid' AND t.code >= u.code AND t.code < u.code || '~' AND starts_with(t.code, u.code)
    ) l ON true
)
SELECT coalesce((
    SELECT ST_AsMVT(m, 'grids', 4096, 'geom', 'id') FROM (
        SELECT f.id, f.code, f.name, f.level, f.version, f.parent_code, f.households, f.people, f.open_events, f.hkey,
               ST_AsMVTGeom(f.geom, env.e, 4096, 64, true) AS geom
        FROM feat f, env
    ) m WHERE m.geom IS NOT NULL
), ''::bytea) || coalesce((
    SELECT ST_AsMVT(m, 'grid_label', 4096, 'geom', 'id') FROM (
        SELECT f.id, f.code, f.name, f.level, f.households, f.people, f.open_events, f.hkey,
               ST_AsMVTGeom(p.pt, env.e, 4096, 64, true) AS geom
        FROM feat f, env, LATERAL (SELECT ST_PointOnSurface(f.geom) AS pt) p
        WHERE ST_Intersects(p.pt, env.e)
    ) m WHERE m.geom IS NOT NULL
), ''::bytea);
