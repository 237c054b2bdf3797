-- in_units(NULL) is NULL, as inside(NULL, …) is.
--
-- The event write policies and unmask_household (0701) locate a row by
-- coalesce(in_scope(grid_code), in_scope(coalesce(admin_code, ''))): the grid
-- code decides when there is one, else the admin code. That relies on
-- in_scope(NULL) being NULL. For a jurisdiction of several units (not exact)
-- it was false — NULL AND (false OR in_units(NULL)), and in_units answered
-- false — so such a user could neither report nor move an event outside every
-- grid, nor unmask a household there, inside their own units. Row-level
-- security's read rules check grid_code IS NOT NULL themselves and are
-- unchanged: for a NULL code they answered no row before and still do.
CREATE OR REPLACE FUNCTION in_units(code text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    u text;
BEGIN
    IF code IS NULL THEN
        RETURN NULL;
    END IF;
    FOREACH u IN ARRAY coalesce(string_to_array(trim(BOTH ',' FROM app_setting('units')), ','), '{}') LOOP
        IF inside(code, u) THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END $$;
