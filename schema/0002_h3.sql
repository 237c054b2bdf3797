-- H3 without the h3 extension: every located row stores its cell at resolution 12
-- as a bigint; coarser cells are derived by bit arithmetic on the index layout
-- (resolution in bits 52-55, digit r in bits 3*(15-r)..3*(15-r)+2, unused digits = 7).

-- h3_resolution returns the resolution field of an H3 cell index.
CREATE OR REPLACE FUNCTION h3_resolution(cell bigint) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ((cell >> 52) & 15)::int;

-- h3_parent returns the ancestor of cell at resolution res (0..15), the cell itself
-- when res equals its resolution, and NULL when res is finer than the cell or out of range.
CREATE OR REPLACE FUNCTION h3_parent(cell bigint, res int) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
    WHEN res < 0 OR res > 15 OR res > ((cell >> 52) & 15) THEN NULL
    ELSE (cell & ~(15::bigint << 52)) | (res::bigint << 52) | ((1::bigint << (3 * (15 - res))) - 1)
END;

-- h3_text formats a cell as the usual lower-case hexadecimal string.
CREATE OR REPLACE FUNCTION h3_text(cell bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN to_hex(cell);
