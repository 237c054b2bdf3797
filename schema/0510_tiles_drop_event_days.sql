-- tile_event_h3_day goes. It held events per (resolution 6..8, cell, China day,
-- status) so that windowed events_h3 tiles could add whole days up instead of
-- grouping event rows; the tile server now answers every filtered events_h3 tile
-- from its in-memory event index (tiles/evindex.go) and reads the table no more.
-- Keeping it cost every load a per-day grouping, an upsert into it and its GiST
-- (rep, day) index, and onegrid gen its rebuild.
--
-- Changed here, each otherwise as before: the triggers (0206, truncate 0203) and
-- derived_rebuild (0206) keep tile_event_h3 only, which no longer needs the day either: the new
-- rows are grouped once by (resolution-10 cell, status) and each coarser
-- resolution rolled up from the next finer one.

CREATE OR REPLACE FUNCTION tile_event_agg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO tile_event_h3 AS t (res, cell, status, n, rep)
        SELECT r, h3_parent(o.h3, r), o.status, -count(*), NULL
        FROM old_rows o, generate_series(6, 10) r
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (res, cell, status) DO UPDATE SET n = t.n + excluded.n;
        INSERT INTO tile_load AS t (kind, code, open_events)
        SELECT k.kind, k.code, -count(*)
        FROM old_rows o, LATERAL (VALUES ('grid', o.grid_code), ('admin', o.admin_code)) k (kind, code)
        WHERE k.code IS NOT NULL AND tile_open_status(o.status)
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (kind, code) DO UPDATE SET open_events = t.open_events + excluded.open_events;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        WITH r10 AS MATERIALIZED (
            SELECT h3_parent(e.h3, 10) AS cell, e.status, count(*)::int AS n, (array_agg(e.geom_3857))[1] AS rep
            FROM new_rows e GROUP BY 1, 2
        ), r9 AS MATERIALIZED (
            SELECT h3_parent(cell, 9) AS cell, status, sum(n)::int AS n, (array_agg(rep))[1] AS rep FROM r10 GROUP BY 1, 2
        ), r8 AS MATERIALIZED (
            SELECT h3_parent(cell, 8) AS cell, status, sum(n)::int AS n, (array_agg(rep))[1] AS rep FROM r9 GROUP BY 1, 2
        ), r7 AS MATERIALIZED (
            SELECT h3_parent(cell, 7) AS cell, status, sum(n)::int AS n, (array_agg(rep))[1] AS rep FROM r8 GROUP BY 1, 2
        ), r6 AS MATERIALIZED (
            SELECT h3_parent(cell, 6) AS cell, status, sum(n)::int AS n, (array_agg(rep))[1] AS rep FROM r7 GROUP BY 1, 2
        )
        INSERT INTO tile_event_h3 AS t (res, cell, status, n, rep)
        SELECT * FROM (
            SELECT 10 AS res, * FROM r10 UNION ALL SELECT 9, * FROM r9 UNION ALL SELECT 8, * FROM r8
            UNION ALL SELECT 7, * FROM r7 UNION ALL SELECT 6, * FROM r6
        ) s ORDER BY 1, 2, 3
        ON CONFLICT (res, cell, status) DO UPDATE SET n = t.n + excluded.n, rep = coalesce(t.rep, excluded.rep);
        INSERT INTO tile_load AS t (kind, code, open_events)
        SELECT k.kind, k.code, count(*)
        FROM new_rows e, LATERAL (VALUES ('grid', e.grid_code), ('admin', e.admin_code)) k (kind, code)
        WHERE k.code IS NOT NULL AND tile_open_status(e.status)
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (kind, code) DO UPDATE SET open_events = t.open_events + excluded.open_events;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM tile_event_h3 t
        USING (SELECT DISTINCT r AS res, h3_parent(o.h3, r) AS cell, o.status FROM old_rows o, generate_series(6, 10) r) k
        WHERE t.res = k.res AND t.cell = k.cell AND t.status = k.status AND t.n <= 0;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION derived_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    redo text[] := '{}';
    s text;
    total bigint := 0;
    written bigint;
BEGIN
    -- Local to the calling transaction (a load that commits right after).
    PERFORM set_config('work_mem', '512MB', true);
    PERFORM set_config('maintenance_work_mem', '512MB', true);
    PERFORM set_config('hash_mem_multiplier', '2', true);

    TRUNCATE tile_event_h3, tile_household_h3, tile_household_h3_tag, tile_load;
    redo := redo || derived_drop_indexes('tile_event_h3')
        || derived_drop_indexes('tile_household_h3') || derived_drop_indexes('tile_household_h3_tag');

    -- Events per (resolution-10 cell, status) with the lowest id, in one
    -- parallel pass over event (CREATE TABLE AS); every resolution is a roll-up
    -- of these groups, and the representative point that of the lowest id.
    DROP TABLE IF EXISTS derived_ev;
    CREATE TEMP TABLE derived_ev ON COMMIT DROP AS
    SELECT h3_parent(h3, 10) AS c10, status, count(*)::int AS n, min(id) AS id
    FROM event GROUP BY 1, 2;

    INSERT INTO tile_event_h3 (res, cell, status, n, rep)
    SELECT a.res, a.cell, a.status, a.n, e.geom_3857
    FROM (SELECT r::smallint AS res, h3_parent(c10, r) AS cell, status, sum(n)::int AS n, min(id) AS id
          FROM derived_ev, generate_series(6, 10) r GROUP BY 1, 2, 3) a
    JOIN event e ON e.id = a.id
    ORDER BY 1, 2, 3;
    GET DIAGNOSTICS written = ROW_COUNT;
    total := total + written;

    -- Households per resolution-11 cell, with the first (lowest-id) household that
    -- has a located address; tag counts per resolution-11 cell.
    DROP TABLE IF EXISTS derived_hh;
    CREATE TEMP TABLE derived_hh ON COMMIT DROP AS
    SELECT h3_parent(h.h3, 11) AS c11, count(*)::int AS households, sum(h.members)::int AS people,
           min(h.id) FILTER (WHERE a.geom_3857 IS NOT NULL) AS id
    FROM household h LEFT JOIN address a ON a.id = h.address_id
    WHERE h.h3 IS NOT NULL GROUP BY 1;

    DROP TABLE IF EXISTS derived_hh_tag;
    CREATE TEMP TABLE derived_hh_tag ON COMMIT DROP AS
    SELECT h3_parent(h.h3, 11) AS c11, t.tag, count(*)::int AS n
    FROM household h, unnest(h.tags) t (tag)
    WHERE h.h3 IS NOT NULL GROUP BY 1, 2;

    INSERT INTO tile_household_h3_tag (res, cell, tag, n)
    SELECT r, h3_parent(c11, r), tag, sum(n)::int
    FROM derived_hh_tag, generate_series(6, 11) r
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
    GET DIAGNOSTICS written = ROW_COUNT;
    total := total + written;

    INSERT INTO tile_household_h3 (res, cell, households, people, rep, tag_names, tag_counts)
    SELECT k.res, k.cell, k.households, k.people, a.geom_3857,
           coalesce(t.names, '{}'), coalesce(t.counts, '{}')
    FROM (SELECT r::smallint AS res, h3_parent(c11, r) AS cell, sum(households)::int AS households,
                 sum(people)::int AS people, min(id) AS id
          FROM derived_hh, generate_series(6, 11) r GROUP BY 1, 2) k
    LEFT JOIN household h ON h.id = k.id
    LEFT JOIN address a ON a.id = h.address_id
    LEFT JOIN (SELECT res, cell, array_agg(tag ORDER BY tag) AS names, array_agg(n ORDER BY tag) AS counts
               FROM tile_household_h3_tag WHERE n > 0 GROUP BY 1, 2) t ON t.res = k.res AND t.cell = k.cell
    ORDER BY 1, 2;
    GET DIAGNOSTICS written = ROW_COUNT;
    total := total + written;

    -- tile_load: aggregated by CREATE TABLE AS, which may use parallel workers.
    DROP TABLE IF EXISTS derived_load;
    CREATE TEMP TABLE derived_load ON COMMIT DROP AS
    SELECT kind, code, sum(households) AS households, sum(people) AS people, sum(open_events) AS open_events FROM (
        SELECT k.kind, k.code, count(*) AS households, sum(h.members) AS people, 0 AS open_events
        FROM household h, LATERAL (VALUES ('grid', h.grid_code), ('admin', h.admin_code)) k (kind, code)
        WHERE k.code IS NOT NULL GROUP BY 1, 2
        UNION ALL
        SELECT k.kind, k.code, 0, 0, count(*)
        FROM event e, LATERAL (VALUES ('grid', e.grid_code), ('admin', e.admin_code)) k (kind, code)
        WHERE k.code IS NOT NULL AND tile_open_status(e.status) GROUP BY 1, 2
    ) s GROUP BY 1, 2;
    INSERT INTO tile_load (kind, code, households, people, open_events)
    SELECT * FROM derived_load ORDER BY 1, 2;
    GET DIAGNOSTICS written = ROW_COUNT;
    total := total + written;

    FOREACH s IN ARRAY redo LOOP
        EXECUTE s;
    END LOOP;
    DROP TABLE derived_ev, derived_hh, derived_hh_tag, derived_load;

    RETURN total + query_rollup_rebuild();
END $$;

CREATE OR REPLACE FUNCTION tile_event_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE tile_event_h3;
    UPDATE tile_load SET open_events = 0 WHERE open_events <> 0;
    RETURN NULL;
END $$;

DROP TABLE tile_event_h3_day;
