-- The per-tile query the service ran before it drew the footprints itself
-- (unitmem.go); the tests keep it as the reference the drawing must match.
-- buildings: footprints for tile $1/$2/$3 (z/x/y), simplified below z16 by about
-- four tile units (extent 4096) so detail finer than the screen shows is dropped.
WITH env AS (
    SELECT e, ST_Expand(e, (ST_XMax(e) - ST_XMin(e)) * 64 / 4096) AS eb,
           CASE WHEN $1 >= 16 THEN 0 ELSE (ST_XMax(e) - ST_XMin(e)) / 1024 END AS tol
    FROM ST_TileEnvelope($1, $2, $3) AS e
)
SELECT coalesce((
    SELECT ST_AsMVT(m, 'buildings', 4096, 'geom', 'id') FROM (
        SELECT b.id, b.name, b.floors, b.use, b.address_id, b.grid_code,
               ST_AsMVTGeom(CASE WHEN env.tol > 0 THEN ST_SimplifyPreserveTopology(b.geom_3857, env.tol) ELSE b.geom_3857 END,
                            env.e, 4096, 64, true) AS geom
        FROM building b, env
        WHERE b.geom_3857 && env.eb
    ) m WHERE m.geom IS NOT NULL
), ''::bytea);
