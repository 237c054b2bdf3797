-- The per-tile query the service ran before it drew the outline layers itself
-- (unitmem.go); the tests keep it as the reference the drawing must match. The
-- load figures come raw, with hkey (the households' key sum, modulo 2^32): the
-- tests apply the disclosure-control rule themselves.
-- admin: administrative units for tile $1/$2/$3 (z/x/y): districts up to z9,
-- streets at z10-11, communities from z12, with load figures summed from tile_load
-- over the unit's admin-code prefix (unit_prefix: 440304000000 → 440304). admin_label: one point on each unit's surface,
-- in the tile that contains it.
WITH env AS (
    SELECT e, ST_Expand(e, (ST_XMax(e) - ST_XMin(e)) * 64 / 4096) AS eb
    FROM ST_TileEnvelope($1, $2, $3) AS e
), unit AS (
    SELECT a.code, unit_prefix(a.code) AS prefix, a.name, a.level, a.geom_3857 AS geom
    FROM admin_area a, env
    WHERE a.geom_3857 && env.eb
      AND a.level = CASE WHEN $1 <= 9 THEN 'district' WHEN $1 <= 11 THEN 'street' ELSE 'community' END
), feat AS (
    SELECT CASE WHEN u.code ~ '^[0-9]{1,18}$' THEN u.code::bigint
                ELSE ('x' || left(md5(u.code), 15))::bit(60)::bigint END AS id,
           u.code, u.name, u.level, u.geom,
           coalesce(l.households, 0) AS households, coalesce(l.people, 0) AS people,
           coalesce(l.open_events, 0) AS open_events, coalesce(l.hkey, 0) AS hkey
    FROM unit u
    LEFT JOIN LATERAL (
        SELECT sum(t.households)::int AS households, sum(t.people)::int AS people, sum(t.open_events)::int AS open_events,
               mod(sum(t.hkey), 4294967296)::bigint AS hkey
        FROM tile_load t
        WHERE t.kind = 'admin' AND t.code >= u.prefix AND t.code < u.prefix || '~' AND starts_with(t.code, u.prefix)
    ) l ON true
)
SELECT coalesce((
    SELECT ST_AsMVT(m, 'admin', 4096, 'geom', 'id') FROM (
        SELECT f.id, f.code, f.name, f.level, f.households, f.people, f.open_events, f.hkey,
               ST_AsMVTGeom(f.geom, env.e, 4096, 64, true) AS geom
        FROM feat f, env
    ) m WHERE m.geom IS NOT NULL
), ''::bytea) || coalesce((
    SELECT ST_AsMVT(m, 'admin_label', 4096, 'geom', 'id') FROM (
        SELECT f.id, f.code, f.name, f.level, f.households, f.people, f.open_events, f.hkey,
               ST_AsMVTGeom(p.pt, env.e, 4096, 64, true) AS geom
        FROM feat f, env, LATERAL (SELECT ST_PointOnSurface(f.geom) AS pt) p
        WHERE ST_Intersects(p.pt, env.e)
    ) m WHERE m.geom IS NOT NULL
), ''::bytea);
