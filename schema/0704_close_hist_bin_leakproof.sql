-- close_hist_bin (0301), the key of event_close_hist_idx, as a LEAKPROOF
-- PL/pgSQL function.
--
-- Under row-level security an index on an expression serves a condition only
-- when the expression is leakproof (0703). As an SQL function close_hist_bin was
-- not inlined either (GREATEST and LEAST are not strict, the function is), so
-- every call paid an SQL function's executor start: 5 µs a row, 5 s to index a
-- million events; PL/pgSQL takes 0.9 µs. It returns the same bin for every value
-- it accepted before, so the index stays valid; it now also accepts infinite
-- times (the last bin) instead of raising an error, which is what lets it be
-- leakproof: no row's value can make it fail. LEAKPROOF needs a superuser; the
-- function is replaced without it otherwise (and the median path then reads the
-- bins without the index under row-level security).
DO $do$
DECLARE
    leak text := CASE WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN 'LEAKPROOF' ELSE '' END;
BEGIN
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION close_hist_bin(reported timestamptz, closed timestamptz) RETURNS smallint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE %s AS $b$
BEGIN
    IF NOT isfinite(reported) OR NOT isfinite(closed) THEN
        RETURN 720;
    END IF;
    RETURN least(greatest(floor(date_part('epoch', closed - reported) / 3600), -1), 720)::smallint;
END $b$ $f$, leak);
END $do$;
