-- h3_parent without STRICT, so the planner inlines it. PostgreSQL inlines a SQL
-- function only when it can prove inlining keeps its behaviour; for a STRICT
-- function that means a body that is itself strict, and a CASE is not. Called
-- through the SQL-function executor, h3_parent cost ~2 µs a row: the tile roll-up
-- triggers call it five times per inserted event (10 s of a 1M-event load) and
-- hotspot counts once per event. Inlined it costs ~0.05 µs. The result is the
-- same: a NULL cell or resolution still gives NULL (the CASE falls to ELSE, whose
-- arithmetic is NULL).
CREATE OR REPLACE FUNCTION h3_parent(cell bigint, res int) RETURNS bigint
LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
RETURN CASE
    WHEN res < 0 OR res > 15 OR res > ((cell >> 52) & 15) THEN NULL
    ELSE (cell & ~(15::bigint << 52)) | (res::bigint << 52) | ((1::bigint << (3 * (15 - res))) - 1)
END;
