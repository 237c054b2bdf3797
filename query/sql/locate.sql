-- Locate a point: its district, street and community, its grid and micro-grid
-- (current versions, or the versions valid at an instant), and the nearest active
-- doorplate or building address within a radius.
--   $1 longitude, $2 latitude (WGS-84 degrees)
--   $3 instant (timestamptz; NULL = current versions)
--   $4 radius in metres
--   $5, $6 the point in Web Mercator metres, $7 the radius in Web Mercator units
--   (radius / cos(latitude), padded 1 %), computed by the caller so that the KNN
--   ordering below compares against constants and walks the GiST index.
-- Boundary rule: areas are closed (ST_Covers), so a point on a boundary shared by
-- two units lies in both; the unit with the smallest code wins (DISTINCT ON ...
-- ORDER BY code), at every level.
-- Each spatial test also states its bounding-box test (&&) on its own: under
-- row-level security PostgreSQL takes only LEAKPROOF conditions to an index, and
-- schema/0703 marks the box operators so, not ST_Covers or ST_DWithin.
-- Nearest address: KNN on the Web Mercator column, which is conformal, so its
-- ranking equals the true (geodesic) ranking at city scale; the reported distance
-- is geodesic. Only doorplates and buildings (levels road, building) count: rooms
-- share their building's point.
SELECT 'admin' AS kind, level, code, name, NULL::int AS version, NULL::timestamptz AS valid_from, NULL::timestamptz AS valid_to, NULL::bigint AS id, NULL::float8 AS distance_m
FROM (
    SELECT DISTINCT ON (a.level) a.level, a.code, a.name
    FROM admin_area a
    WHERE a.level IN ('district', 'street', 'community') AND a.geom && ST_SetSRID(ST_MakePoint($1, $2), 4326)
      AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
    ORDER BY a.level, a.code
) admin
UNION ALL
SELECT 'grid', level, code, name, version, valid_from, valid_to, NULL, NULL
FROM (
    SELECT DISTINCT ON (g.level) g.level, g.code, g.name, g.version, g.valid_from, g.valid_to
    FROM grid g
    WHERE g.level IN ('grid', 'micro_grid') AND g.geom && ST_SetSRID(ST_MakePoint($1, $2), 4326)
      AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
      AND CASE WHEN $3::timestamptz IS NULL THEN g.valid_to IS NULL
               ELSE g.valid_from <= $3::timestamptz AND (g.valid_to IS NULL OR g.valid_to > $3::timestamptz) END
    ORDER BY g.level, g.code
) grids
UNION ALL
SELECT 'address', NULL, NULL, full_text, NULL, NULL, NULL, id, distance_m
FROM (
    SELECT c.id, c.full_text, ST_Distance(c.geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) AS distance_m
    FROM (
        SELECT a.id, a.full_text, a.geom
        FROM address a
        WHERE a.level IN ('road', 'building') AND a.status = 'active'
          AND a.geom_3857 && ST_Expand(ST_SetSRID(ST_MakePoint($5, $6), 3857), $7)
          AND ST_DWithin(a.geom_3857, ST_SetSRID(ST_MakePoint($5, $6), 3857), $7)
        ORDER BY a.geom_3857 <-> ST_SetSRID(ST_MakePoint($5, $6), 3857), a.id
        LIMIT 1
    ) c
) near
WHERE distance_m <= $4
