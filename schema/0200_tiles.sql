-- Vector tiles: per-layer data versions with change notification, and the
-- aggregates that let low-zoom tiles avoid scanning raw rows. Owned by package tiles.
--
--  * tile_layer_version holds one row per tile layer. Statement-level triggers on
--    every source table bump the versions of the layers the table feeds, in the
--    writing transaction, and NOTIFY onegrid_tiles with the layer names; servers key
--    their tile caches by these versions, so a tile rendered before a write is never
--    served after it commits.
--  * tile_event_h3 counts events per (H3 resolution 6..10, cell, status);
--    tile_household_h3 and tile_household_h3_tag count households, people and tagged
--    households per (resolution 6..11, cell). Each row keeps a representative point
--    (the first row seen in the cell) so tiles find cells with a GiST search.
--  * tile_load holds households, people and open events per finest grid code and per
--    admin code, the load figures of grid and admin features.
-- All aggregates are kept current by statement-level triggers using transition
-- tables, so a COPY of a million rows costs one grouped upsert, not a million.

CREATE TABLE tile_layer_version (
    layer      text PRIMARY KEY,
    version    bigint NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO tile_layer_version (layer)
VALUES ('admin'), ('grids'), ('buildings'), ('addresses'), ('events'), ('events_h3'), ('households_h3');

-- tile_bump bumps the versions of the layers named in the trigger's arguments and
-- notifies listeners (delivered at commit, dropped on rollback).
CREATE FUNCTION tile_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Lock in a fixed order so writers to different tables cannot deadlock here.
    PERFORM 1 FROM tile_layer_version WHERE layer = ANY (TG_ARGV) ORDER BY layer FOR UPDATE;
    UPDATE tile_layer_version SET version = version + 1, changed_at = now() WHERE layer = ANY (TG_ARGV);
    PERFORM pg_notify('onegrid_tiles', array_to_string(TG_ARGV, ','));
    RETURN NULL;
END $$;

CREATE TRIGGER tile_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin_area
    FOR EACH STATEMENT EXECUTE FUNCTION tile_bump('admin');
CREATE TRIGGER tile_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grid
    FOR EACH STATEMENT EXECUTE FUNCTION tile_bump('grids');
CREATE TRIGGER tile_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON building
    FOR EACH STATEMENT EXECUTE FUNCTION tile_bump('buildings');
CREATE TRIGGER tile_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON address
    FOR EACH STATEMENT EXECUTE FUNCTION tile_bump('addresses', 'households_h3');
CREATE TRIGGER tile_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON household
    FOR EACH STATEMENT EXECUTE FUNCTION tile_bump('admin', 'grids', 'households_h3');
CREATE TRIGGER tile_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON event
    FOR EACH STATEMENT EXECUTE FUNCTION tile_bump('admin', 'events', 'events_h3', 'grids');

-- tile_open_status lists the statuses that count as an open event.
CREATE FUNCTION tile_open_status(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN status IN ('reported', 'dispatched', 'handling');

CREATE TABLE tile_event_h3 (
    res    smallint NOT NULL,
    cell   bigint NOT NULL,
    status text NOT NULL,
    n      integer NOT NULL,
    rep    geometry(Point, 3857),
    PRIMARY KEY (res, cell, status)
);
CREATE INDEX tile_event_h3_rep_idx ON tile_event_h3 USING gist (res, rep);

CREATE TABLE tile_household_h3 (
    res        smallint NOT NULL,
    cell       bigint NOT NULL,
    households integer NOT NULL,
    people     integer NOT NULL,
    rep        geometry(Point, 3857),
    PRIMARY KEY (res, cell)
);
CREATE INDEX tile_household_h3_rep_idx ON tile_household_h3 USING gist (res, rep);

CREATE TABLE tile_household_h3_tag (
    res  smallint NOT NULL,
    cell bigint NOT NULL,
    tag  text NOT NULL,
    n    integer NOT NULL,
    PRIMARY KEY (res, cell, tag)
);

CREATE TABLE tile_load (
    kind        text NOT NULL CHECK (kind IN ('grid', 'admin')),
    code        text COLLATE "C" NOT NULL,
    households  integer NOT NULL DEFAULT 0,
    people      integer NOT NULL DEFAULT 0,
    open_events integer NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, code)
);

CREATE FUNCTION tile_event_agg() RETURNS trigger LANGUAGE plpgsql AS $$
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
        INSERT INTO tile_event_h3 AS t (res, cell, status, n, rep)
        SELECT r, h3_parent(e.h3, r), e.status, count(*), (array_agg(e.geom_3857))[1]
        FROM new_rows e, generate_series(6, 10) r
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
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
CREATE TRIGGER tile_event_agg_insert AFTER INSERT ON event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_event_agg();
CREATE TRIGGER tile_event_agg_update AFTER UPDATE ON event
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_event_agg();
CREATE TRIGGER tile_event_agg_delete AFTER DELETE ON event
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_event_agg();

CREATE FUNCTION tile_event_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE tile_event_h3;
    UPDATE tile_load SET open_events = 0 WHERE open_events <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER tile_event_truncate AFTER TRUNCATE ON event
    FOR EACH STATEMENT EXECUTE FUNCTION tile_event_truncate();

CREATE FUNCTION tile_household_agg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO tile_household_h3 AS t (res, cell, households, people, rep)
        SELECT r, h3_parent(o.h3, r), -count(*), -sum(o.members), NULL
        FROM old_rows o, generate_series(6, 11) r
        WHERE o.h3 IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (res, cell) DO UPDATE SET households = t.households + excluded.households, people = t.people + excluded.people;
        INSERT INTO tile_household_h3_tag AS t (res, cell, tag, n)
        SELECT r, h3_parent(o.h3, r), tag, -count(*)
        FROM old_rows o, generate_series(6, 11) r, unnest(o.tags) tag
        WHERE o.h3 IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (res, cell, tag) DO UPDATE SET n = t.n + excluded.n;
        INSERT INTO tile_load AS t (kind, code, households, people)
        SELECT k.kind, k.code, -count(*), -sum(o.members)
        FROM old_rows o, LATERAL (VALUES ('grid', o.grid_code), ('admin', o.admin_code)) k (kind, code)
        WHERE k.code IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (kind, code) DO UPDATE SET households = t.households + excluded.households, people = t.people + excluded.people;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO tile_household_h3 AS t (res, cell, households, people, rep)
        SELECT r, h3_parent(h.h3, r), count(*), sum(h.members), (array_agg(a.geom_3857) FILTER (WHERE a.geom_3857 IS NOT NULL))[1]
        FROM new_rows h LEFT JOIN address a ON a.id = h.address_id, generate_series(6, 11) r
        WHERE h.h3 IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (res, cell) DO UPDATE SET households = t.households + excluded.households,
            people = t.people + excluded.people, rep = coalesce(t.rep, excluded.rep);
        INSERT INTO tile_household_h3_tag AS t (res, cell, tag, n)
        SELECT r, h3_parent(h.h3, r), tag, count(*)
        FROM new_rows h, generate_series(6, 11) r, unnest(h.tags) tag
        WHERE h.h3 IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (res, cell, tag) DO UPDATE SET n = t.n + excluded.n;
        INSERT INTO tile_load AS t (kind, code, households, people)
        SELECT k.kind, k.code, count(*), sum(h.members)
        FROM new_rows h, LATERAL (VALUES ('grid', h.grid_code), ('admin', h.admin_code)) k (kind, code)
        WHERE k.code IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (kind, code) DO UPDATE SET households = t.households + excluded.households, people = t.people + excluded.people;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM tile_household_h3 t
        USING (SELECT DISTINCT r AS res, h3_parent(o.h3, r) AS cell FROM old_rows o, generate_series(6, 11) r WHERE o.h3 IS NOT NULL) k
        WHERE t.res = k.res AND t.cell = k.cell AND t.households <= 0;
        DELETE FROM tile_household_h3_tag t
        USING (SELECT DISTINCT r AS res, h3_parent(o.h3, r) AS cell FROM old_rows o, generate_series(6, 11) r WHERE o.h3 IS NOT NULL) k
        WHERE t.res = k.res AND t.cell = k.cell AND t.n <= 0;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tile_household_agg_insert AFTER INSERT ON household
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_household_agg();
CREATE TRIGGER tile_household_agg_update AFTER UPDATE ON household
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_household_agg();
CREATE TRIGGER tile_household_agg_delete AFTER DELETE ON household
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tile_household_agg();

CREATE FUNCTION tile_household_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE tile_household_h3, tile_household_h3_tag;
    UPDATE tile_load SET households = 0, people = 0 WHERE households <> 0 OR people <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER tile_household_truncate AFTER TRUNCATE ON household
    FOR EACH STATEMENT EXECUTE FUNCTION tile_household_truncate();

-- Backfill from rows loaded before this migration.
INSERT INTO tile_event_h3 (res, cell, status, n, rep)
SELECT r, h3_parent(e.h3, r), e.status, count(*), (array_agg(e.geom_3857))[1]
FROM event e, generate_series(6, 10) r GROUP BY 1, 2, 3;
INSERT INTO tile_household_h3 (res, cell, households, people, rep)
SELECT r, h3_parent(h.h3, r), count(*), sum(h.members), (array_agg(a.geom_3857) FILTER (WHERE a.geom_3857 IS NOT NULL))[1]
FROM household h LEFT JOIN address a ON a.id = h.address_id, generate_series(6, 11) r
WHERE h.h3 IS NOT NULL GROUP BY 1, 2;
INSERT INTO tile_household_h3_tag (res, cell, tag, n)
SELECT r, h3_parent(h.h3, r), tag, count(*)
FROM household h, generate_series(6, 11) r, unnest(h.tags) tag
WHERE h.h3 IS NOT NULL GROUP BY 1, 2, 3;
INSERT INTO tile_load (kind, code, households, people, open_events)
SELECT kind, code, sum(households), sum(people), sum(open_events) FROM (
    SELECT k.kind, k.code, count(*) AS households, sum(h.members) AS people, 0 AS open_events
    FROM household h, LATERAL (VALUES ('grid', h.grid_code), ('admin', h.admin_code)) k (kind, code)
    WHERE k.code IS NOT NULL GROUP BY 1, 2
    UNION ALL
    SELECT k.kind, k.code, 0, 0, count(*)
    FROM event e, LATERAL (VALUES ('grid', e.grid_code), ('admin', e.admin_code)) k (kind, code)
    WHERE k.code IS NOT NULL AND tile_open_status(e.status) GROUP BY 1, 2
) s GROUP BY 1, 2;
