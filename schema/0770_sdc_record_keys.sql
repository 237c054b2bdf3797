-- Disclosure control (issue 13, point 6): record keys and the key sums that make
-- every released count consistent. Package sdc owns the rule; this file owns its
-- one SQL input, the record key, and keeps key sums beside every count the
-- roll-ups hold.
--
-- The method is the "cell key" perturbation of the Australian Bureau of Statistics
-- (TableBuilder) and of the UK ONS 2021 census, with random rounding as the
-- perturbation. Every household and every event has a permanent pseudo-random
-- record key, sdc_record_key(id, seed): a keyed hash of its id with a secret seed
-- (sdc_secret, drawn at random here), 32 bits. A released count's cell key is the
-- sum of the record keys of the records it counts, modulo 2^32: the same records
-- give the same cell key whatever route counts them, in whatever order, so the
-- roll-ups keep the sums (bigint; a delete subtracts) and any coarser group adds
-- them up. The rounding itself is in Go (package sdc).
--
-- Columns added (all NOT NULL DEFAULT 0, '{}' for the array):
--   household_rollup.hkey, household_tag_rollup.hkey    households' keys
--   event_rollup_month.ekey, .due_key, .on_time_key      events', closed with a
--                                                        deadline, closed on time
--   tile_household_h3.hkey and .tag_keys (by tag_names), tile_household_h3_tag.hkey,
--   tile_load.hkey                                       households' keys
-- event_reported_cover_idx and event_hotspot_idx (0401) also cover id, first
-- after the key (fixed offset, so reading it costs no walk over the text
-- columns), so that raw event aggregates and hotspot counts sum the keys of the
-- rows they count without visiting the table.
--
-- Everything that maintains these tables is replaced to keep the sums: the
-- statement triggers (through household_rollup_sql, household_tag_rollup_sql,
-- event_rollup_sql and tile_household_agg; trigger functions still run as the
-- schema's owner, 0701), query_rollup_rebuild() and derived_rebuild(); ingest's
-- bulk event fold runs event_rollup_sql, and gen runs derived_rebuild() on
-- copies (citygen/side.go copies sdc_secret too).

-- The secret: one row, 64 random bits from the server's strong random source
-- (gen_random_uuid; two UUIDs XORed so that no bit is a fixed version or variant
-- bit). The application reads it; nothing serves it.
CREATE TABLE sdc_secret (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seed bigint NOT NULL
);
INSERT INTO sdc_secret (seed)
SELECT (('x' || encode(substring(uuid_send(gen_random_uuid()) FROM 1 FOR 8), 'hex'))::bit(64)
      # ('x' || encode(substring(uuid_send(gen_random_uuid()) FROM 9 FOR 8), 'hex'))::bit(64))::bigint;
-- serve (the application role) sums record keys in its aggregates; no API serves
-- the seed, and no policy is needed: it locates nothing.
GRANT SELECT ON sdc_secret TO onegrid_app;

-- sdc_record_key is the record key of the household or event with this id: its id
-- hashed with the secret seed by PostgreSQL's seeded hash (hashint8extended, Bob
-- Jenkins' lookup3 as used by hash partitioning), keeping the high 32 bits as a
-- signed integer (only a sum modulo 2^32 matters, and sum(int) adds in bigint
-- without the numeric a bigint sum would make). It is never released: only
-- whether a sum of keys rounds a count up or down is ever seen. Callers pass the
-- seed as a scalar subquery, which PostgreSQL evaluates once per statement:
-- sdc_record_key(h.id, (SELECT seed FROM sdc_secret)). The function is inlined (a
-- few nanoseconds a row); an HMAC would cost a microsecond or two.
CREATE FUNCTION sdc_record_key(id bigint, seed bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (hashint8extended(id, seed) >> 32)::integer;

ALTER TABLE household_rollup ADD COLUMN hkey bigint NOT NULL DEFAULT 0;
ALTER TABLE household_tag_rollup ADD COLUMN hkey bigint NOT NULL DEFAULT 0;
ALTER TABLE event_rollup_month
    ADD COLUMN ekey bigint NOT NULL DEFAULT 0,
    ADD COLUMN due_key bigint NOT NULL DEFAULT 0,
    ADD COLUMN on_time_key bigint NOT NULL DEFAULT 0;
ALTER TABLE tile_household_h3
    ADD COLUMN hkey bigint NOT NULL DEFAULT 0,
    ADD COLUMN tag_keys bigint[] NOT NULL DEFAULT '{}';
ALTER TABLE tile_household_h3_tag ADD COLUMN hkey bigint NOT NULL DEFAULT 0;
ALTER TABLE tile_load ADD COLUMN hkey bigint NOT NULL DEFAULT 0;

DROP INDEX event_reported_cover_idx;
CREATE INDEX event_reported_cover_idx ON event (reported_at)
    INCLUDE (id, admin_code, grid_code, h3, category_code, severity, status, source, closed_at, deadline);
DROP INDEX event_hotspot_idx;
CREATE INDEX event_hotspot_idx ON event (reported_at) INCLUDE (id, h3, category_code, grid_code);

-- The query roll-ups (0300): the sources now yield id, and each group keeps the
-- sum of its records' keys.
CREATE OR REPLACE FUNCTION event_rollup_sql(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
    INSERT INTO event_rollup_month AS r
    SELECT date_trunc('month', n.reported_at AT TIME ZONE 'Asia/Shanghai')::date,
           coalesce(n.admin_code, ''), coalesce(c.root, n.category_code),
           sum(n.sign),
           sum(n.sign * (n.closed_at IS NOT NULL)::int),
           coalesce(sum(n.sign * extract(epoch FROM n.closed_at - n.reported_at) / 3600), 0),
           sum(n.sign * (n.closed_at IS NOT NULL AND n.deadline IS NOT NULL)::int),
           sum(n.sign * (n.closed_at IS NOT NULL AND n.deadline IS NOT NULL AND n.closed_at <= n.deadline)::int),
           sum(n.sign * n.k::bigint),
           coalesce(sum(n.sign * n.k::bigint) FILTER (WHERE n.closed_at IS NOT NULL AND n.deadline IS NOT NULL), 0),
           coalesce(sum(n.sign * n.k::bigint) FILTER (WHERE n.closed_at IS NOT NULL AND n.deadline IS NOT NULL AND n.closed_at <= n.deadline), 0)
    FROM (SELECT s.*, sdc_record_key(s.id, (SELECT seed FROM sdc_secret)) AS k FROM (%s) s) n
    LEFT JOIN event_category_roots c ON c.code = n.category_code
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (month, admin_code, category_root) DO UPDATE SET
        events = r.events + EXCLUDED.events,
        closed = r.closed + EXCLUDED.closed,
        close_hours = r.close_hours + EXCLUDED.close_hours,
        due = r.due + EXCLUDED.due,
        on_time = r.on_time + EXCLUDED.on_time,
        ekey = r.ekey + EXCLUDED.ekey,
        due_key = r.due_key + EXCLUDED.due_key,
        on_time_key = r.on_time_key + EXCLUDED.on_time_key
    $q$, source)
$$;

CREATE OR REPLACE FUNCTION event_rollup_trigger() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    cols CONSTANT text := 'id, reported_at, admin_code, category_code, closed_at, deadline';
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE event_rollup_month;
    ELSIF TG_OP = 'INSERT' THEN
        EXECUTE event_rollup_sql(format('SELECT %s, 1 AS sign FROM new_rows', cols));
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE event_rollup_sql(format('SELECT %s, -1 AS sign FROM old_rows', cols));
    ELSE
        EXECUTE event_rollup_sql(format('SELECT %1$s, -1 AS sign FROM old_rows UNION ALL SELECT %1$s, 1 FROM new_rows', cols));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION household_rollup_sql(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
    INSERT INTO household_rollup AS r
    SELECT coalesce(n.admin_code, ''), coalesce(n.grid_code, ''), coalesce(h3_parent(n.h3, 9), 0),
           sum(n.sign), sum(n.sign * n.members), sum(n.sign * sdc_record_key(n.id, (SELECT seed FROM sdc_secret))::bigint)
    FROM (%s) n
    GROUP BY 1, 2, 3
    ORDER BY 2, 3, 1
    ON CONFLICT (grid_code, h3_9, admin_code) DO UPDATE SET
        households = r.households + EXCLUDED.households,
        people = r.people + EXCLUDED.people,
        hkey = r.hkey + EXCLUDED.hkey
    $q$, source)
$$;
CREATE OR REPLACE FUNCTION household_tag_rollup_sql(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
    INSERT INTO household_tag_rollup AS r
    SELECT t.tag, coalesce(n.admin_code, ''), coalesce(n.grid_code, ''), coalesce(h3_parent(n.h3, 9), 0),
           sum(n.sign), sum(n.sign * n.members), sum(n.sign * sdc_record_key(n.id, (SELECT seed FROM sdc_secret))::bigint)
    FROM (%s) n CROSS JOIN LATERAL (SELECT DISTINCT unnest(n.tags) AS tag) t
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 3, 4, 2
    ON CONFLICT (tag, grid_code, h3_9, admin_code) DO UPDATE SET
        households = r.households + EXCLUDED.households,
        people = r.people + EXCLUDED.people,
        hkey = r.hkey + EXCLUDED.hkey
    $q$, source)
$$;

CREATE OR REPLACE FUNCTION household_rollup_trigger() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    cols CONSTANT text := 'id, admin_code, grid_code, h3, members, tags';
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE household_rollup, household_tag_rollup;
    ELSIF TG_OP = 'INSERT' THEN
        EXECUTE household_rollup_sql(format('SELECT %s, 1 AS sign FROM new_rows', cols));
        EXECUTE household_tag_rollup_sql(format('SELECT %s, 1 AS sign FROM new_rows', cols));
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE household_rollup_sql(format('SELECT %s, -1 AS sign FROM old_rows', cols));
        EXECUTE household_tag_rollup_sql(format('SELECT %s, -1 AS sign FROM old_rows', cols));
    ELSE
        EXECUTE household_rollup_sql(format('SELECT %1$s, -1 AS sign FROM old_rows UNION ALL SELECT %1$s, 1 FROM new_rows', cols));
        EXECUTE household_tag_rollup_sql(format('SELECT %1$s, -1 AS sign FROM old_rows UNION ALL SELECT %1$s, 1 FROM new_rows', cols));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION query_rollup_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    m bigint;
    h bigint;
BEGIN
    TRUNCATE event_rollup_month, household_rollup, household_tag_rollup, event_close_hist_month;
    EXECUTE event_rollup_sql('SELECT id, reported_at, admin_code, category_code, closed_at, deadline, 1 AS sign FROM event');
    EXECUTE event_close_hist_sql('SELECT reported_at, admin_code, closed_at, 1 AS sign FROM event');
    EXECUTE household_rollup_sql('SELECT id, admin_code, grid_code, h3, members, tags, 1 AS sign FROM household');
    EXECUTE household_tag_rollup_sql('SELECT id, admin_code, grid_code, h3, members, tags, 1 AS sign FROM household');
    SELECT count(*) INTO n FROM event_rollup_month;
    SELECT (SELECT count(*) FROM household_rollup) + (SELECT count(*) FROM household_tag_rollup) INTO m;
    SELECT count(*) INTO h FROM event_close_hist_month;
    RETURN n + m + h;
END $$;

-- The household tile aggregates (0200, 0201): key sums beside the counts, and the
-- tag keys copied onto tile_household_h3 (tag_keys, in tag_names' order) with the
-- tag counts.
CREATE OR REPLACE FUNCTION tile_household_tags_refresh(cells bigint[]) RETURNS void LANGUAGE sql AS $$
    UPDATE tile_household_h3 h
    SET tag_names = s.names, tag_counts = s.counts, tag_keys = s.keys
    FROM (
        SELECT k.res, k.cell,
               coalesce(array_agg(g.tag ORDER BY g.tag) FILTER (WHERE g.tag IS NOT NULL), '{}') AS names,
               coalesce(array_agg(g.n ORDER BY g.tag) FILTER (WHERE g.tag IS NOT NULL), '{}') AS counts,
               coalesce(array_agg(g.hkey ORDER BY g.tag) FILTER (WHERE g.tag IS NOT NULL), '{}') AS keys
        FROM (SELECT DISTINCT r::smallint AS res, h3_parent(c, r) AS cell FROM unnest(cells) c, generate_series(6, 11) r) k
        LEFT JOIN tile_household_h3_tag g ON g.res = k.res AND g.cell = k.cell AND g.n > 0
        GROUP BY 1, 2
    ) s
    WHERE h.res = s.res AND h.cell = s.cell
      AND (h.tag_names, h.tag_counts, h.tag_keys) IS DISTINCT FROM (s.names, s.counts, s.keys);
$$;

CREATE OR REPLACE FUNCTION tile_household_agg() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    key_seed CONSTANT bigint := (SELECT seed FROM sdc_secret);
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO tile_household_h3 AS t (res, cell, households, people, rep, hkey)
        SELECT r, h3_parent(o.h3, r), -count(*), -sum(o.members), NULL, -sum(sdc_record_key(o.id, key_seed))
        FROM old_rows o, generate_series(6, 11) r
        WHERE o.h3 IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (res, cell) DO UPDATE SET households = t.households + excluded.households,
            people = t.people + excluded.people, hkey = t.hkey + excluded.hkey;
        INSERT INTO tile_household_h3_tag AS t (res, cell, tag, n, hkey)
        SELECT r, h3_parent(o.h3, r), tag, -count(*), -sum(sdc_record_key(o.id, key_seed))
        FROM old_rows o, generate_series(6, 11) r, unnest(o.tags) tag
        WHERE o.h3 IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (res, cell, tag) DO UPDATE SET n = t.n + excluded.n, hkey = t.hkey + excluded.hkey;
        INSERT INTO tile_load AS t (kind, code, households, people, hkey)
        SELECT k.kind, k.code, -count(*), -sum(o.members), -sum(sdc_record_key(o.id, key_seed))
        FROM old_rows o, LATERAL (VALUES ('grid', o.grid_code), ('admin', o.admin_code)) k (kind, code)
        WHERE k.code IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (kind, code) DO UPDATE SET households = t.households + excluded.households,
            people = t.people + excluded.people, hkey = t.hkey + excluded.hkey;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO tile_household_h3 AS t (res, cell, households, people, rep, hkey)
        SELECT r, h3_parent(h.h3, r), count(*), sum(h.members), (array_agg(a.geom_3857) FILTER (WHERE a.geom_3857 IS NOT NULL))[1],
               sum(sdc_record_key(h.id, key_seed))
        FROM new_rows h LEFT JOIN address a ON a.id = h.address_id, generate_series(6, 11) r
        WHERE h.h3 IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (res, cell) DO UPDATE SET households = t.households + excluded.households,
            people = t.people + excluded.people, rep = coalesce(t.rep, excluded.rep), hkey = t.hkey + excluded.hkey;
        INSERT INTO tile_household_h3_tag AS t (res, cell, tag, n, hkey)
        SELECT r, h3_parent(h.h3, r), tag, count(*), sum(sdc_record_key(h.id, key_seed))
        FROM new_rows h, generate_series(6, 11) r, unnest(h.tags) tag
        WHERE h.h3 IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (res, cell, tag) DO UPDATE SET n = t.n + excluded.n, hkey = t.hkey + excluded.hkey;
        INSERT INTO tile_load AS t (kind, code, households, people, hkey)
        SELECT k.kind, k.code, count(*), sum(h.members), sum(sdc_record_key(h.id, key_seed))
        FROM new_rows h, LATERAL (VALUES ('grid', h.grid_code), ('admin', h.admin_code)) k (kind, code)
        WHERE k.code IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (kind, code) DO UPDATE SET households = t.households + excluded.households,
            people = t.people + excluded.people, hkey = t.hkey + excluded.hkey;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM tile_household_h3 t
        USING (SELECT DISTINCT r AS res, h3_parent(o.h3, r) AS cell FROM old_rows o, generate_series(6, 11) r WHERE o.h3 IS NOT NULL) k
        WHERE t.res = k.res AND t.cell = k.cell AND t.households <= 0;
        DELETE FROM tile_household_h3_tag t
        USING (SELECT DISTINCT r AS res, h3_parent(o.h3, r) AS cell FROM old_rows o, generate_series(6, 11) r WHERE o.h3 IS NOT NULL) k
        WHERE t.res = k.res AND t.cell = k.cell AND t.n <= 0;
    END IF;
    -- Copy each touched cell's tag counts and keys onto its row, so tiles read one row per cell.
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_household_tags_refresh(ARRAY(SELECT h3 FROM new_rows WHERE h3 IS NOT NULL));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_household_tags_refresh(ARRAY(SELECT h3 FROM old_rows WHERE h3 IS NOT NULL));
    ELSE
        PERFORM tile_household_tags_refresh(ARRAY(
            SELECT h3 FROM new_rows WHERE h3 IS NOT NULL UNION SELECT h3 FROM old_rows WHERE h3 IS NOT NULL));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tile_household_truncate() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    TRUNCATE tile_household_h3, tile_household_h3_tag;
    UPDATE tile_load SET households = 0, people = 0, hkey = 0 WHERE households <> 0 OR people <> 0 OR hkey <> 0;
    RETURN NULL;
END $$;

-- derived_rebuild (0510) with the key sums: the resolution-11 passes sum the
-- households' keys and the coarser rows add those sums up.
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
    -- has a located address and the sum of their keys; tag counts and key sums per
    -- resolution-11 cell.
    DROP TABLE IF EXISTS derived_hh;
    CREATE TEMP TABLE derived_hh ON COMMIT DROP AS
    SELECT h3_parent(h.h3, 11) AS c11, count(*)::int AS households, sum(h.members)::int AS people,
           min(h.id) FILTER (WHERE a.geom_3857 IS NOT NULL) AS id,
           sum(sdc_record_key(h.id, (SELECT seed FROM sdc_secret))) AS hkey
    FROM household h LEFT JOIN address a ON a.id = h.address_id
    WHERE h.h3 IS NOT NULL GROUP BY 1;

    DROP TABLE IF EXISTS derived_hh_tag;
    CREATE TEMP TABLE derived_hh_tag ON COMMIT DROP AS
    SELECT h3_parent(h.h3, 11) AS c11, t.tag, count(*)::int AS n,
           sum(sdc_record_key(h.id, (SELECT seed FROM sdc_secret))) AS hkey
    FROM household h, unnest(h.tags) t (tag)
    WHERE h.h3 IS NOT NULL GROUP BY 1, 2;

    INSERT INTO tile_household_h3_tag (res, cell, tag, n, hkey)
    SELECT r, h3_parent(c11, r), tag, sum(n)::int, sum(hkey)::bigint
    FROM derived_hh_tag, generate_series(6, 11) r
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
    GET DIAGNOSTICS written = ROW_COUNT;
    total := total + written;

    INSERT INTO tile_household_h3 (res, cell, households, people, rep, tag_names, tag_counts, hkey, tag_keys)
    SELECT k.res, k.cell, k.households, k.people, a.geom_3857,
           coalesce(t.names, '{}'), coalesce(t.counts, '{}'), k.hkey, coalesce(t.keys, '{}')
    FROM (SELECT r::smallint AS res, h3_parent(c11, r) AS cell, sum(households)::int AS households,
                 sum(people)::int AS people, min(id) AS id, sum(hkey)::bigint AS hkey
          FROM derived_hh, generate_series(6, 11) r GROUP BY 1, 2) k
    LEFT JOIN household h ON h.id = k.id
    LEFT JOIN address a ON a.id = h.address_id
    LEFT JOIN (SELECT res, cell, array_agg(tag ORDER BY tag) AS names, array_agg(n ORDER BY tag) AS counts,
                      array_agg(hkey ORDER BY tag) AS keys
               FROM tile_household_h3_tag WHERE n > 0 GROUP BY 1, 2) t ON t.res = k.res AND t.cell = k.cell
    ORDER BY 1, 2;
    GET DIAGNOSTICS written = ROW_COUNT;
    total := total + written;

    -- tile_load: aggregated by CREATE TABLE AS, which may use parallel workers.
    DROP TABLE IF EXISTS derived_load;
    CREATE TEMP TABLE derived_load ON COMMIT DROP AS
    SELECT kind, code, sum(households) AS households, sum(people) AS people, sum(open_events) AS open_events,
           sum(hkey) AS hkey FROM (
        SELECT k.kind, k.code, count(*) AS households, sum(h.members) AS people, 0 AS open_events,
               sum(sdc_record_key(h.id, (SELECT seed FROM sdc_secret))) AS hkey
        FROM household h, LATERAL (VALUES ('grid', h.grid_code), ('admin', h.admin_code)) k (kind, code)
        WHERE k.code IS NOT NULL GROUP BY 1, 2
        UNION ALL
        SELECT k.kind, k.code, 0, 0, count(*), 0
        FROM event e, LATERAL (VALUES ('grid', e.grid_code), ('admin', e.admin_code)) k (kind, code)
        WHERE k.code IS NOT NULL AND tile_open_status(e.status) GROUP BY 1, 2
    ) s GROUP BY 1, 2;
    INSERT INTO tile_load (kind, code, households, people, open_events, hkey)
    SELECT * FROM derived_load ORDER BY 1, 2;
    GET DIAGNOSTICS written = ROW_COUNT;
    total := total + written;

    FOREACH s IN ARRAY redo LOOP
        EXECUTE s;
    END LOOP;
    DROP TABLE derived_ev, derived_hh, derived_hh_tag, derived_load;

    RETURN total + query_rollup_rebuild();
END $$;

-- Rows loaded before this migration get their key sums.
SELECT derived_rebuild();

-- Stored hotspot runs hold raw per-cell counts: they go (the server's standard
-- set computes them again within its interval). Alerts outlive runs and their
-- counts cannot be rounded here (the rule is in Go): they are set to 0, "not
-- kept", for alerts raised before this migration.
DELETE FROM hotspot_run;
UPDATE hotspot_alert SET count = 0 WHERE count <> 0;
