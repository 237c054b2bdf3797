-- derived_rebuild recomputes every table derived from household and event (the tile
-- aggregates of 0200-0203 and the query roll-ups of 0300) from the base tables, set
-- based. Bulk loads (onegrid gen) disable the per-statement maintenance triggers,
-- load, and call it once before commit: for a 1M-row COPY the triggers' grouped
-- upserts (array_agg of a point per group, ON CONFLICT into indexed tables, a
-- million-element cell array for the tag refresh) cost about 100 s of server CPU
-- for households and events together; this costs about 36 s.
--
-- The result equals what the triggers produce from the same rows, with two
-- differences no reader can see: tile_load rows whose figures are all zero (left by
-- deletes and truncates) are not kept, and rep, the representative point of a cell
-- that tiles search with GiST, is the point of the lowest-id row of the cell (of the
-- cell's first household with a located address), where the triggers keep the first
-- row of the statement that created the row. Any point in the cell serves: tiles
-- search by rep within at least a cell's diameter of the tile.
--
-- Speed: aggregates read the base tables in parallel (CREATE TABLE AS may use
-- parallel workers; INSERT ... SELECT may not): events once for all five
-- resolutions, households once at resolution 11 with coarser cells rolled up from
-- those rows. The representative point is joined once per output row by the lowest
-- id (no array_agg of geometries). The target tables are emptied with TRUNCATE (so,
-- with wal_level = minimal in a loading transaction, they are not WAL-logged),
-- loaded without indexes in primary-key order, and their keys and GiST indexes are
-- then built in one pass each.
--
-- It takes ACCESS EXCLUSIVE locks on the derived tables until the transaction ends.
-- Returns the rows written.

-- derived_drop_indexes drops the primary key, unique constraints and indexes of the
-- (partitioned) table rel and returns the statements that recreate them.
CREATE FUNCTION derived_drop_indexes(rel regclass) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    r record;
    redo text[] := '{}';
BEGIN
    FOR r IN SELECT k.conname, pg_get_constraintdef(k.oid) AS def
             FROM pg_constraint k WHERE k.conrelid = rel AND k.contype IN ('p', 'u') ORDER BY k.conname LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', rel, r.conname);
        redo := redo || format('ALTER TABLE %s ADD CONSTRAINT %I %s', rel, r.conname, r.def);
    END LOOP;
    FOR r IN SELECT i.indexrelid::regclass AS idx, pg_get_indexdef(i.indexrelid) AS def
             FROM pg_index i WHERE i.indrelid = rel ORDER BY i.indexrelid::regclass::text LOOP
        EXECUTE format('DROP INDEX %s', r.idx);
        -- A partitioned table's index reads "ON ONLY": recreate it on every partition.
        redo := redo || replace(r.def, ' ON ONLY ', ' ON ');
    END LOOP;
    RETURN redo;
END $$;

CREATE FUNCTION derived_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
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

    TRUNCATE tile_event_h3, tile_event_h3_day, tile_household_h3, tile_household_h3_tag, tile_load;
    redo := redo || derived_drop_indexes('tile_event_h3_day') || derived_drop_indexes('tile_event_h3')
        || derived_drop_indexes('tile_household_h3') || derived_drop_indexes('tile_household_h3_tag');

    -- Events per (resolution 6..10, cell, China day, status), with the lowest id:
    -- one parallel pass over event (CREATE TABLE AS; rolling resolutions 6..9 up
    -- from the resolution-10 groups, serially, cost the leader more CPU). The
    -- undated counts are a roll-up of these rows, written by a data-modifying CTE.
    DROP TABLE IF EXISTS derived_ev_day;
    CREATE TEMP TABLE derived_ev_day ON COMMIT DROP AS
    SELECT r::smallint AS res, h3_parent(h3, r) AS cell, tile_china_day(reported_at) AS day, status,
           count(*)::int AS n, min(id) AS id
    FROM event, generate_series(6, 10) r GROUP BY 1, 2, 3, 4;

    WITH agg AS (
        INSERT INTO tile_event_h3 (res, cell, status, n, rep)
        SELECT a.res, a.cell, a.status, a.n, e.geom_3857
        FROM (SELECT res, cell, status, sum(n)::int AS n, min(id) AS id FROM derived_ev_day GROUP BY 1, 2, 3) a
        JOIN event e ON e.id = a.id
        ORDER BY 1, 2, 3
    ) -- a data-modifying CTE runs to completion whether read or not
    INSERT INTO tile_event_h3_day (res, cell, day, status, n, rep)
    SELECT d.res, d.cell, d.day, d.status, d.n, e.geom_3857
    FROM derived_ev_day d JOIN event e ON e.id = d.id
    ORDER BY 1, 2, 3, 4;
    GET DIAGNOSTICS written = ROW_COUNT;
    total := total + written + (SELECT count(*) FROM tile_event_h3);

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
    DROP TABLE derived_ev_day, derived_hh, derived_hh_tag, derived_load;

    RETURN total + query_rollup_rebuild();
END $$;
