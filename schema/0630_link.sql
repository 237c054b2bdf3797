-- Linking a located row to the grid and admin layers, in one place: every writer
-- (the loaders in ingest, the event write path in event) links a point with these
-- two functions, so a file loaded in bulk and an event reported one at a time land
-- in the same grid and community.
--
--  * link_grid(p, t): the finest grid containing point p in the version current at
--    instant t (micro-grid before grid before community grid before street grid;
--    among equals the smallest code, so a point on a shared edge goes to the
--    smaller code), with that version and the grid's admin code. No row when no
--    grid version current at t contains p.
--  * link_community(p): the community (admin area) containing p, the smallest code
--    on a shared edge. No row outside every community.
--
-- Both are set-returning SQL functions that are STABLE, not STRICT and without SET
-- clauses, so the planner inlines them where they are joined LATERAL (the plan is
-- the one a hand-written subquery gets: one GiST probe a row, no function call).
-- Use them as
--     LEFT JOIN LATERAL link_grid(s.g, s.reported_at) gr ON true
--     LEFT JOIN LATERAL link_community(s.g) co ON true
-- and store coalesce(co.code, gr.admin_code) as the row's admin code.

CREATE FUNCTION link_grid(p geometry, t timestamptz)
RETURNS TABLE (code text, version int, admin_code text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.code, g.version, g.admin_code FROM grid g
    WHERE ST_Intersects(g.geom, p) AND g.valid_from <= t AND (g.valid_to IS NULL OR t < g.valid_to)
    ORDER BY CASE g.level WHEN 'micro_grid' THEN 0 WHEN 'grid' THEN 1 WHEN 'community' THEN 2 ELSE 3 END, g.code
    LIMIT 1
$$;

CREATE FUNCTION link_community(p geometry)
RETURNS TABLE (code text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT a.code FROM admin_area a
    WHERE a.level = 'community' AND ST_Intersects(a.geom, p)
    ORDER BY a.code
    LIMIT 1
$$;
