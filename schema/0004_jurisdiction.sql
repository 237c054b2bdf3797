-- Jurisdiction by code prefix. A 12-digit admin code is padded with zeros: district
-- 440304000000, street 440304001000, community 440304001001. unit_prefix strips the
-- padding (by whole 3-digit groups, never below the 6-digit county) so that
-- `grid_code LIKE unit_prefix(code) || '%'` selects everything inside the unit.
-- Codes that are not 12 digits (grids, non-Chinese areas) are their own prefix.
CREATE OR REPLACE FUNCTION unit_prefix(code text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
    WHEN code !~ '^[0-9]{12}$' THEN code
    WHEN substr(code, 7) = '000000' THEN substr(code, 1, 6)
    WHEN substr(code, 10) = '000' THEN substr(code, 1, 9)
    ELSE code
END;
