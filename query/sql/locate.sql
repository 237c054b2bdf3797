-- Locate a point: its district, street and community, its grid and micro-grid
-- (current versions, or the versions valid at an instant), and the nearest active
-- address within a radius.
--   $1 longitude, $2 latitude (WGS-84 degrees)
--   $3 instant (timestamptz; NULL = current versions)
--   $4 radius in metres
-- Boundary rule: areas are closed (ST_Covers), so a point on a boundary shared by
-- two units lies in both; the unit with the smallest code wins (DISTINCT ON ...
-- ORDER BY code), at every level.
-- Nearest address: KNN on the Web Mercator column, which is conformal, so its
-- ranking equals the true (geodesic) ranking at city scale; the reported distance
-- is geodesic. At equal distance the coarser address (building before room) wins.
WITH pt AS (
    SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS g,
           ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), 3857) AS m
),
admin AS (
    SELECT DISTINCT ON (a.level) a.level, a.code, a.name
    FROM admin_area a, pt
    WHERE a.level IN ('district', 'street', 'community') AND ST_Covers(a.geom, pt.g)
    ORDER BY a.level, a.code
),
grids AS (
    SELECT DISTINCT ON (g.level) g.level, g.code, g.name, g.version, g.valid_from, g.valid_to
    FROM grid g, pt
    WHERE g.level IN ('grid', 'micro_grid') AND ST_Covers(g.geom, pt.g)
      AND CASE WHEN $3::timestamptz IS NULL THEN g.valid_to IS NULL
               ELSE g.valid_from <= $3::timestamptz AND (g.valid_to IS NULL OR g.valid_to > $3::timestamptz) END
    ORDER BY g.level, g.code
),
near AS (
    SELECT c.id, c.full_text, c.distance_m
    FROM (
        SELECT a.id, a.full_text, a.level, ST_Distance(a.geom::geography, pt.g::geography) AS distance_m
        FROM address a, pt
        WHERE a.status = 'active'
          AND ST_DWithin(a.geom_3857, pt.m, $4::float8 * 1.01 / cos(radians($2::float8)))
        ORDER BY a.geom_3857 <-> pt.m
        LIMIT 16
    ) c
    WHERE c.distance_m <= $4::float8
    ORDER BY round(c.distance_m::numeric, 2),
             array_position(ARRAY['building', 'road', 'unit', 'floor', 'room', 'community', 'street', 'district'], c.level),
             c.id
    LIMIT 1
)
SELECT 'admin' AS kind, level, code, name, NULL::int AS version, NULL::timestamptz AS valid_from, NULL::timestamptz AS valid_to, NULL::bigint AS id, NULL::float8 AS distance_m FROM admin
UNION ALL
SELECT 'grid', level, code, name, version, valid_from, valid_to, NULL, NULL FROM grids
UNION ALL
SELECT 'address', NULL, NULL, full_text, NULL, NULL, NULL, id, distance_m FROM near
