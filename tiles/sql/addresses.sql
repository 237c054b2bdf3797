-- addresses: active road/compound and building/doorplate addresses for tile
-- $1/$2/$3 (z/x/y); units, floors and rooms share their building's point and are
-- left out. The envelope is a subquery without FROM, which the planner folds into
-- the condition: a condition on parameters alone may use the spatial index ahead
-- of row-level security's policy (geometry && is LEAKPROOF, migration 0703), one
-- on another relation's columns may not.
SELECT coalesce((
    SELECT ST_AsMVT(m, 'addresses', 4096, 'geom', 'id') FROM (
        SELECT a.id, a.code, a.level, a.full_text AS text, a.grid_code,
               ST_AsMVTGeom(a.geom_3857, env.e, 4096, 64, true) AS geom
        FROM address a, (SELECT ST_TileEnvelope($1, $2, $3) AS e) env
        WHERE a.geom_3857 && ST_Expand(env.e, (ST_XMax(env.e) - ST_XMin(env.e)) * 64 / 4096)
          AND a.level IN ('road', 'building') AND a.status = 'active'
    ) m WHERE m.geom IS NOT NULL
), ''::bytea);
