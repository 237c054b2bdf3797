-- The wide role's policies on located rows (address, building, event,
-- household) check one code, not two arms.
--
-- onegrid_app's located rule (0701) has two arms, the grid code when there is
-- one and else the admin code, so that the grid_code B-tree answers the first
-- arm for a narrow jurisdiction. onegrid_app_wide's policies (0707) use no
-- index at all (they filter on code || ''), so for them the two arms are only
-- cost: three more InitPlans and a larger filter, built again at every
-- execution of a cached plan (0791), a tenth of what a district's locate
-- paid for row-level security. The rule on coalesce(grid_code, admin_code, '')
-- answers the same rows: the grid code when it is set, else the admin code,
-- else ''.

-- app_rule_text is the text PostgreSQL deparses a policy's range rule on col
-- to (pg_get_expr of 0701's scope_rule), and app_located_text that of the
-- located rule; app_wide_expr replaces the latter by the rule on the one code.
CREATE FUNCTION app_rule_text(col text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN format('(((%1$s COLLATE "C") >= (( SELECT app_scope() AS app_scope) COLLATE "C")) AND ((%1$s COLLATE "C") < (( SELECT app_scope_end() AS app_scope_end) COLLATE "C")) AND (( SELECT app_exact() AS app_exact) OR in_units(%1$s)))', col);

CREATE FUNCTION app_located_text() RETURNS text
LANGUAGE sql IMMUTABLE
RETURN format('(((grid_code IS NOT NULL) AND %s) OR ((grid_code IS NULL) AND %s))',
    app_rule_text('grid_code'), app_rule_text('COALESCE(admin_code, ''''::text)'));

CREATE OR REPLACE FUNCTION app_wide_expr(expr text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN regexp_replace(replace(expr, app_located_text(), app_rule_text('COALESCE(grid_code, admin_code, ''''::text)')),
    '\(([a-z_]+|COALESCE\([^()]*\)) COLLATE "C"\) (>=|<) \(\( SELECT (app_scope|app_scope_end)\(\)',
    '((\1 || ''''::text) COLLATE "C") \2 (( SELECT \3()', 'g');

-- Derive the wide role's permissive policies again (app_city_sync creates the
-- missing ones).
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT pol.polname, pol.polrelid::regclass AS tbl FROM pg_policy pol
             WHERE 'onegrid_app_wide'::regrole = ANY (pol.polroles) AND pol.polpermissive LOOP
        EXECUTE format('DROP POLICY %I ON %s', r.polname, r.tbl);
    END LOOP;
END $$;
SELECT app_city_sync();
