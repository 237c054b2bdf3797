-- A histogram of close times behind median_close_hours by admin unit.
--
-- A median cannot come from sums, and reading a year of raw closed events (about
-- 1M rows in a 1M-household city) for the median by street took 1-3 s. Medians by
-- district, street or community over whole China-time months, unfiltered, read
-- this roll-up instead: per month (Asia/Shanghai, like event_rollup_month) and
-- community, how many closed events took [b, b+1) hours to close, for b in
-- 0..719, as a sparse pair of arrays (bins ascending, counts). Bin 720 counts
-- closes of 720 h (30 days) or more and bin -1 closes before the report (bad
-- data; the event check constraint forbids it): the overflow. The histogram only
-- locates the bin of each group's middle rank; the exact values are then read
-- raw from that bin alone (event_close_hist_idx, 0302), overflow included. One row per
-- (month, community) -- about 2,500 rows for a year of 207 communities -- so the
-- histogram of a year is merged in Go from a few thousand short arrays.
--
-- The category is not a key: with it the roll-up has ~15 times as many rows and
-- is nearly as slow to read as the raw rows; filtered medians read raw rows.
--
-- Freshness: the same statement-level triggers with transition tables as
-- event_rollup_month; TRUNCATE empties it; query_rollup_rebuild() (replaced
-- below) rebuilds it with the other roll-ups.

CREATE TABLE event_close_hist_month (
    month      date NOT NULL,                 -- first day of the month of reported_at, Asia/Shanghai
    admin_code text COLLATE "C" NOT NULL,     -- the event's community code ('' when absent)
    bins       smallint[] NOT NULL,           -- ascending close-time bins with a non-zero count
    counts     bigint[] NOT NULL,             -- closed events per bin
    PRIMARY KEY (month, admin_code)
);

-- close_hist_bin is the histogram bin of a close: whole hours from report to close,
-- -1 below zero, 720 from 720 h on. Computed as median_close_hours computes hours.
CREATE FUNCTION close_hist_bin(reported timestamptz, closed timestamptz) RETURNS smallint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT least(greatest(floor(date_part('epoch', closed - reported) / 3600), -1), 720)::smallint
$$;

-- close_hist_merge adds two sparse histograms, dropping bins whose count is zero.
CREATE FUNCTION close_hist_merge(b1 smallint[], c1 bigint[], b2 smallint[], c2 bigint[],
                                 OUT bins smallint[], OUT counts bigint[])
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(b ORDER BY b), '{}'), coalesce(array_agg(n ORDER BY b), '{}')
    FROM (
        SELECT u.b, sum(u.n)::bigint AS n
        FROM (SELECT * FROM unnest(b1, c1) UNION ALL SELECT * FROM unnest(b2, c2)) u(b, n)
        GROUP BY u.b
        HAVING sum(u.n) <> 0
    ) s
$$;

-- event_close_hist_sql folds the rows of source (event columns plus sign) into
-- event_close_hist_month; the trigger function EXECUTEs it (transition tables).
CREATE FUNCTION event_close_hist_sql(source text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format($q$
    INSERT INTO event_close_hist_month AS r
    SELECT g.month, g.admin_code, array_agg(g.bin ORDER BY g.bin), array_agg(g.n ORDER BY g.bin)
    FROM (
        SELECT date_trunc('month', n.reported_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
               coalesce(n.admin_code, '') AS admin_code,
               close_hist_bin(n.reported_at, n.closed_at) AS bin,
               sum(n.sign)::bigint AS n
        FROM (%s) n
        WHERE n.closed_at IS NOT NULL
        GROUP BY 1, 2, 3
        HAVING sum(n.sign) <> 0
    ) g
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (month, admin_code) DO UPDATE SET (bins, counts) =
        (SELECT m.bins, m.counts FROM close_hist_merge(r.bins, r.counts, EXCLUDED.bins, EXCLUDED.counts) m)
    $q$, source)
$$;

CREATE FUNCTION event_close_hist_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cols CONSTANT text := 'reported_at, admin_code, closed_at';
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE event_close_hist_month;
    ELSIF TG_OP = 'INSERT' THEN
        EXECUTE event_close_hist_sql(format('SELECT %s, 1 AS sign FROM new_rows', cols));
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE event_close_hist_sql(format('SELECT %s, -1 AS sign FROM old_rows', cols));
    ELSE
        EXECUTE event_close_hist_sql(format('SELECT %1$s, -1 AS sign FROM old_rows UNION ALL SELECT %1$s, 1 FROM new_rows', cols));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER event_close_hist_ins AFTER INSERT ON event REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION event_close_hist_trigger();
CREATE TRIGGER event_close_hist_upd AFTER UPDATE ON event REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION event_close_hist_trigger();
CREATE TRIGGER event_close_hist_del AFTER DELETE ON event REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION event_close_hist_trigger();
CREATE TRIGGER event_close_hist_trunc AFTER TRUNCATE ON event
    FOR EACH STATEMENT EXECUTE FUNCTION event_close_hist_trigger();

-- query_rollup_rebuild now rebuilds the close-time histogram too.
CREATE OR REPLACE FUNCTION query_rollup_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    m bigint;
    h bigint;
BEGIN
    TRUNCATE event_rollup_month, household_rollup, household_tag_rollup, event_close_hist_month;
    EXECUTE event_rollup_sql('SELECT reported_at, admin_code, category_code, closed_at, deadline, 1 AS sign FROM event');
    EXECUTE event_close_hist_sql('SELECT reported_at, admin_code, closed_at, 1 AS sign FROM event');
    EXECUTE household_rollup_sql('SELECT admin_code, grid_code, h3, members, tags, 1 AS sign FROM household');
    EXECUTE household_tag_rollup_sql('SELECT admin_code, grid_code, h3, members, tags, 1 AS sign FROM household');
    SELECT count(*) INTO n FROM event_rollup_month;
    SELECT (SELECT count(*) FROM household_rollup) + (SELECT count(*) FROM household_tag_rollup) INTO m;
    SELECT count(*) INTO h FROM event_close_hist_month;
    RETURN n + m + h;
END $$;

-- Events loaded before this migration.
DO $$ BEGIN
    EXECUTE event_close_hist_sql('SELECT reported_at, admin_code, closed_at, 1 AS sign FROM event');
END $$;
