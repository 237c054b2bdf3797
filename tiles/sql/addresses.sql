-- addresses: active road/compound and building/doorplate addresses for tile
-- $1/$2/$3 (z/x/y); units, floors and rooms share their building's point and are
-- left out.
WITH env AS (
    SELECT e, ST_Expand(e, (ST_XMax(e) - ST_XMin(e)) * 64 / 4096) AS eb
    FROM ST_TileEnvelope($1, $2, $3) AS e
)
SELECT coalesce((
    SELECT ST_AsMVT(m, 'addresses', 4096, 'geom', 'id') FROM (
        SELECT a.id, a.code, a.level, a.full_text AS text, a.grid_code,
               ST_AsMVTGeom(a.geom_3857, env.e, 4096, 64, true) AS geom
        FROM address a, env
        WHERE a.geom_3857 && env.eb AND a.level IN ('road', 'building') AND a.status = 'active'
    ) m WHERE m.geom IS NOT NULL
), ''::bytea);
