-- Roll-ups behind /api/v1/aggregates and grid load, kept current on write.
--
-- event_rollup_month holds, per month (Asia/Shanghai), community and level-1
-- category, the event count and the sums that closing metrics need: it answers
-- aggregates by district, street or community over whole months, unfiltered or
-- filtered by a level-1 category, about 40 times smaller than the event table.
-- Finer roll-ups do not pay: at a micro-grid, an H3 res-9 cell or a leaf category
-- the (day, unit, filters) keys of a 1M-event year are nearly all distinct, so such
-- aggregates read raw event rows through event_reported_cover_idx or
-- event_category_idx instead. household_rollup and household_tag_rollup hold
-- households and people per (admin_code, grid_code, H3 res-9 cell), without and
-- with each tag. Medians cannot come from sums: median_close_hours reads raw rows.
--
-- Freshness: statement-level AFTER triggers with transition tables apply each
-- INSERT/UPDATE/DELETE (COPY included) as one grouped upsert per statement, so a
-- bulk load costs one aggregate, not a trigger call per row; TRUNCATE empties the
-- roll-ups. Loads that bypass triggers (session_replication_role = replica) must
-- call query_rollup_rebuild() afterwards.
--
-- Absent codes are stored as '' and absent cells as 0 so they can be key columns.

CREATE TABLE event_rollup_month (
    month          date NOT NULL,             -- first day of the month of reported_at, Asia/Shanghai
    admin_code     text COLLATE "C" NOT NULL, -- the event's community code
    category_root  text COLLATE "C" NOT NULL, -- the level-1 ancestor of category_code
    events         bigint NOT NULL,
    closed         bigint NOT NULL,           -- closed_at IS NOT NULL
    close_hours    double precision NOT NULL, -- sum over closed of (closed_at - reported_at) in hours
    due            bigint NOT NULL,           -- closed and with a deadline
    on_time        bigint NOT NULL,           -- closed at or before the deadline
    PRIMARY KEY (month, admin_code, category_root)
);

CREATE TABLE household_rollup (
    admin_code  text COLLATE "C" NOT NULL,
    grid_code   text COLLATE "C" NOT NULL,
    h3_9        bigint NOT NULL,
    households  bigint NOT NULL,
    people      bigint NOT NULL,
    PRIMARY KEY (grid_code, h3_9, admin_code)
);
CREATE INDEX household_rollup_admin_idx ON household_rollup (admin_code);

CREATE TABLE household_tag_rollup (
    tag         text NOT NULL,
    admin_code  text COLLATE "C" NOT NULL,
    grid_code   text COLLATE "C" NOT NULL,
    h3_9        bigint NOT NULL,
    households  bigint NOT NULL,
    people      bigint NOT NULL,
    PRIMARY KEY (tag, grid_code, h3_9, admin_code)
);
CREATE INDEX household_tag_rollup_admin_idx ON household_tag_rollup (tag, admin_code);

-- Aliases are searched by trigram like full_text; events by time with the columns
-- aggregates read, so raw edges of a window are index-only scans.
CREATE INDEX event_reported_cover_idx ON event (reported_at)
    INCLUDE (admin_code, grid_code, h3, category_code, severity, status, source, closed_at, deadline);
CREATE INDEX address_alias_address_idx ON address_alias (address_id);
-- Locate's nearest address: doorplates and buildings only, a few percent of the
-- address table (rooms share their building's point).
CREATE INDEX address_doorplate_3857_idx ON address USING gist (geom_3857)
    WHERE level IN ('road', 'building') AND status = 'active';

-- event_category_subtree returns root and every category below it (NULL if root is unknown).
CREATE FUNCTION event_category_subtree(root text) RETURNS text[]
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    WITH RECURSIVE t(code) AS (
        SELECT code FROM event_category WHERE code = root
        UNION ALL
        SELECT c.code FROM event_category c JOIN t ON c.parent_code = t.code
    )
    SELECT array_agg(code ORDER BY code) FROM t
$$;

-- event_category_roots maps every category to its level-1 ancestor.
CREATE VIEW event_category_roots AS
    WITH RECURSIVE r(code, root) AS (
        SELECT code, code FROM event_category WHERE parent_code IS NULL
        UNION ALL
        SELECT c.code, r.root FROM event_category c JOIN r ON c.parent_code = r.code
    )
    SELECT code, root FROM r;

-- event_rollup_sql is the statement that folds the rows of source (a query over the
-- transition tables or the event table yielding event columns plus sign) into
-- event_rollup_month. The trigger function must EXECUTE it itself: transition
-- tables are visible only to the trigger function's own statements.
CREATE FUNCTION event_rollup_sql(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
    INSERT INTO event_rollup_month AS r
    SELECT date_trunc('month', n.reported_at AT TIME ZONE 'Asia/Shanghai')::date,
           coalesce(n.admin_code, ''), coalesce(c.root, n.category_code),
           sum(n.sign),
           sum(n.sign * (n.closed_at IS NOT NULL)::int),
           coalesce(sum(n.sign * extract(epoch FROM n.closed_at - n.reported_at) / 3600), 0),
           sum(n.sign * (n.closed_at IS NOT NULL AND n.deadline IS NOT NULL)::int),
           sum(n.sign * (n.closed_at IS NOT NULL AND n.deadline IS NOT NULL AND n.closed_at <= n.deadline)::int)
    FROM (%s) n LEFT JOIN event_category_roots c ON c.code = n.category_code
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (month, admin_code, category_root) DO UPDATE SET
        events = r.events + EXCLUDED.events,
        closed = r.closed + EXCLUDED.closed,
        close_hours = r.close_hours + EXCLUDED.close_hours,
        due = r.due + EXCLUDED.due,
        on_time = r.on_time + EXCLUDED.on_time
    $q$, source)
$$;

CREATE FUNCTION event_rollup_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cols CONSTANT text := 'reported_at, admin_code, category_code, closed_at, deadline';
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

CREATE TRIGGER event_rollup_ins AFTER INSERT ON event REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION event_rollup_trigger();
CREATE TRIGGER event_rollup_upd AFTER UPDATE ON event REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION event_rollup_trigger();
CREATE TRIGGER event_rollup_del AFTER DELETE ON event REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION event_rollup_trigger();
CREATE TRIGGER event_rollup_trunc AFTER TRUNCATE ON event
    FOR EACH STATEMENT EXECUTE FUNCTION event_rollup_trigger();

-- household_rollup_sql is the statement that folds household rows (columns plus
-- sign) into household_rollup; household_tag_rollup_sql, into household_tag_rollup.
CREATE FUNCTION household_rollup_sql(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
    INSERT INTO household_rollup AS r
    SELECT coalesce(n.admin_code, ''), coalesce(n.grid_code, ''), coalesce(h3_parent(n.h3, 9), 0),
           sum(n.sign), sum(n.sign * n.members)
    FROM (%s) n
    GROUP BY 1, 2, 3
    ORDER BY 2, 3, 1
    ON CONFLICT (grid_code, h3_9, admin_code) DO UPDATE SET
        households = r.households + EXCLUDED.households,
        people = r.people + EXCLUDED.people
    $q$, source)
$$;
CREATE FUNCTION household_tag_rollup_sql(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
    INSERT INTO household_tag_rollup AS r
    SELECT t.tag, coalesce(n.admin_code, ''), coalesce(n.grid_code, ''), coalesce(h3_parent(n.h3, 9), 0),
           sum(n.sign), sum(n.sign * n.members)
    FROM (%s) n CROSS JOIN LATERAL (SELECT DISTINCT unnest(n.tags) AS tag) t
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 3, 4, 2
    ON CONFLICT (tag, grid_code, h3_9, admin_code) DO UPDATE SET
        households = r.households + EXCLUDED.households,
        people = r.people + EXCLUDED.people
    $q$, source)
$$;

CREATE FUNCTION household_rollup_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cols CONSTANT text := 'admin_code, grid_code, h3, members, tags';
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

CREATE TRIGGER household_rollup_ins AFTER INSERT ON household REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION household_rollup_trigger();
CREATE TRIGGER household_rollup_upd AFTER UPDATE ON household REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION household_rollup_trigger();
CREATE TRIGGER household_rollup_del AFTER DELETE ON household REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION household_rollup_trigger();
CREATE TRIGGER household_rollup_trunc AFTER TRUNCATE ON household
    FOR EACH STATEMENT EXECUTE FUNCTION household_rollup_trigger();

-- query_rollup_rebuild recomputes every roll-up from the base tables (after a load
-- that bypassed triggers, or to check them). Returns the rows written.
CREATE FUNCTION query_rollup_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    m bigint;
BEGIN
    TRUNCATE event_rollup_month, household_rollup, household_tag_rollup;
    EXECUTE event_rollup_sql('SELECT reported_at, admin_code, category_code, closed_at, deadline, 1 AS sign FROM event');
    EXECUTE household_rollup_sql('SELECT admin_code, grid_code, h3, members, tags, 1 AS sign FROM household');
    EXECUTE household_tag_rollup_sql('SELECT admin_code, grid_code, h3, members, tags, 1 AS sign FROM household');
    SELECT count(*) INTO n FROM event_rollup_month;
    SELECT (SELECT count(*) FROM household_rollup) + (SELECT count(*) FROM household_tag_rollup) INTO m;
    RETURN n + m;
END $$;

-- Rows loaded before this migration.
SELECT query_rollup_rebuild();
