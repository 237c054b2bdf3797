-- The per-tile query the service ran before it held the hotspot cells in memory
-- (hotspotmem.go); the tests keep it as the reference the in-memory path must
-- match for the whole city.
-- hotspots: the cells of the latest stored standard hotspot run (whole city, last 30
-- days, res 9) that are significant before or after FDR correction, as hexagons with
-- z, p and both confidence bins (+3/+2/+1 hot at 99/95/90 %, negative cold), for tile
-- $1/$2/$3. $6 is the category filter: a run exists for all categories and for each
-- top-level category; any other code finds no run and the tile is empty. The stored
-- run has its own window, so $4/$5 (from/to) and $7 (status) do not apply; they are
-- typed here because every filtered layer takes the same parameters.
WITH params AS (
    SELECT $4::timestamptz AS from_at, $5::timestamptz AS to_at, $7::text[] AS status,
           coalesce($6::text, '') AS category
), env AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS e
), cells AS (
    SELECT c.* FROM params, hotspot_latest_cells('', params.category) c
)
SELECT coalesce((
    SELECT ST_AsMVT(m, 'hotspots', 4096, 'geom', 'id') FROM (
        SELECT c.cell AS id, h3_text(c.cell) AS cell, c.count, round(c.z::numeric, 3)::float8 AS z,
               c.p, c.bin, c.bin_fdr, c.computed_at::text AS computed_at,
               ST_AsMVTGeom(c.geom_3857, env.e, 4096, 64, true) AS geom
        FROM cells c, env
        WHERE c.geom_3857 && env.e AND (c.bin <> 0 OR c.bin_fdr <> 0)
    ) m WHERE m.geom IS NOT NULL
), ''::bytea);
