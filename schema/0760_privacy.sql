-- Privacy by class (package privacy): what the database itself withholds.
--
--  * A flat's address (levels unit, floor, room) identifies a household: only
--    callers who serve households (capability 'households') read such rows. A
--    restrictive policy, ANDed with address's jurisdiction policy (0701), so
--    every path (search, near, features, children, aliases through their
--    address) leaves flats out for the others.
--  * address_shown gives those others the address they may see in place of a
--    flat: its nearest ancestor above unit level (an event reported at a room
--    shows its building).
--  * household_sealed says whether a household's clear personal values are on
--    record (household_personal, which the application role cannot read).
--  * The categories of the generated taxonomy whose events are sensitive.

CREATE POLICY flats ON address AS RESTRICTIVE FOR SELECT TO onegrid_app
    USING (level NOT IN ('unit', 'floor', 'room') OR (SELECT app_can('households')));

-- address_shown returns aid itself unless it is a flat, else its nearest
-- ancestor above unit level; NULL outside the caller's jurisdiction or without
-- the rows capability. It runs as the owner (the caller may not read the flat)
-- and returns only an address the caller may read.
CREATE FUNCTION address_shown(aid bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH RECURSIVE up(id, parent_id, level, grid_code, admin_code, depth) AS (
        SELECT id, parent_id, level, grid_code, admin_code, 0 FROM address WHERE id = aid
        UNION ALL
        SELECT a.id, a.parent_id, a.level, a.grid_code, a.admin_code, up.depth + 1
        FROM up JOIN address a ON a.id = up.parent_id
        WHERE up.level IN ('unit', 'floor', 'room') AND up.depth < 8
    )
    SELECT id FROM up
    WHERE level NOT IN ('unit', 'floor', 'room') AND app_can('rows')
      AND CASE WHEN grid_code IS NOT NULL THEN in_scope(grid_code) ELSE in_scope(coalesce(admin_code, '')) END
    ORDER BY depth LIMIT 1
$$;

-- household_sealed reports whether clear personal values of a household the
-- caller serves are on record (so unmasking can answer them).
CREATE FUNCTION household_sealed(hid bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT app_can('households') AND EXISTS (
        SELECT 1 FROM household_personal p JOIN household h ON h.id = p.household_id
        WHERE p.household_id = hid AND CASE WHEN h.grid_code IS NOT NULL THEN in_scope(h.grid_code) ELSE in_scope(coalesce(h.admin_code, '')) END)
$$;

REVOKE ALL ON FUNCTION address_shown(bigint), household_sealed(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION address_shown(bigint), household_sealed(bigint) TO onegrid_app;

-- The generated taxonomy's sensitive categories (citygen marks them as it
-- writes them; this marks those an earlier run wrote): police leads, special
-- groups (elderly living alone, children in difficulty, mental disorder
-- patients), social assistance cases, suspected infectious cases; a level-2
-- category whose classes are all sensitive is sensitive too.
UPDATE event_category SET sensitive = true
WHERE name IN ('涉赌线索', '涉毒线索', '涉毒涉赌', '独居老人关怀', '困境儿童', '精神障碍患者', '特殊人群',
               '低保申请', '临时救助', '残疾人帮扶', '社会救助', '疑似病例报告')
  AND NOT sensitive;
