-- A third application role for wide jurisdictions (a district, a street).
--
-- The jurisdiction's range in a policy (0701) has bounds PostgreSQL plans
-- without knowing (InitPlans), so it takes the range as selective and, for a
-- district, adds an index scan of the district's 300,000 grid codes to a
-- nearest-address search that needs four rows (8 ms instead of 0.2). A wide
-- jurisdiction therefore runs as onegrid_app_wide, whose policies are
-- onegrid_app's with the range on an expression no index holds (code || '', the
-- same order): a filter on the rows the query's own conditions find. Narrow
-- jurisdictions (a community, a grid) keep the indexable range, which is what
-- answers a grid worker's read of a million-row table. Package scope chooses:
-- the whole area onegrid_app_city, a unit above the community (a prefix shorter
-- than 12 characters) this role, anything narrower onegrid_app.
--
-- The wide policies are derived from onegrid_app's by app_city_sync, which
-- schema.Migrate runs after every migration run, so a later table's policies
-- need writing only once (scope_policy, 0702).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onegrid_app_wide') THEN
        CREATE ROLE onegrid_app_wide NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'onegrid needs a role onegrid_app_wide (NOLOGIN) that the migrating role may grant to'
        USING HINT = 'as a superuser: CREATE ROLE onegrid_app_wide NOLOGIN; then run the migration again';
END $$;

DO $$
DECLARE
    r name;
BEGIN
    FOR r IN SELECT m.rolname FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member
             WHERE am.roleid = 'onegrid_app'::regrole AND m.rolcanlogin LOOP
        EXECUTE format('GRANT onegrid_app_wide TO %I', r);
    END LOOP;
END $$;

-- app_wide_expr rewrites a policy condition of onegrid_app for onegrid_app_wide:
-- each comparison of a code with the scope's bounds is made on code || ''.
CREATE FUNCTION app_wide_expr(expr text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN regexp_replace(expr,
    '\(([a-z_]+|COALESCE\([^()]*\)) COLLATE "C"\) (>=|<) \(\( SELECT (app_scope|app_scope_end)\(\)',
    '((\1 || ''''::text) COLLATE "C") \2 (( SELECT \3()', 'g');

-- app_city_sync (0706) now keeps both twins: the grants and restrictive
-- policies for the city and wide roles, and the wide role's permissive
-- policies derived from onegrid_app's.
CREATE OR REPLACE FUNCTION app_city_sync() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    twin text;
BEGIN
    FOREACH twin IN ARRAY ARRAY['onegrid_app_city', 'onegrid_app_wide'] LOOP
        FOR r IN SELECT c.oid::regclass AS obj, a.privilege_type AS priv, c.relkind
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
                 WHERE n.nspname = 'public' AND a.grantee = 'onegrid_app'::regrole LOOP
            EXECUTE format('GRANT %s ON %s %s TO %I', r.priv, CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.obj, twin);
        END LOOP;
        FOR r IN SELECT p.oid::regprocedure AS obj FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
                        aclexplode(p.proacl) a
                 WHERE n.nspname = 'public' AND a.grantee = 'onegrid_app'::regrole AND a.privilege_type = 'EXECUTE' LOOP
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', r.obj, twin);
        END LOOP;
    END LOOP;
    -- Restrictive policies hold for both twins; permissive ones are derived for
    -- the wide role only (the city's are one check of the identity, 0702).
    FOR r IN SELECT pol.polname, pol.polrelid::regclass AS tbl, pol.polpermissive AS permissive,
                    CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                    WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS cmd,
                    pg_get_expr(pol.polqual, pol.polrelid) AS qual, pg_get_expr(pol.polwithcheck, pol.polrelid) AS chk,
                    t.twin, t.suffix
             FROM pg_policy pol,
                  (VALUES ('onegrid_app_city', '_city'), ('onegrid_app_wide', '_wide')) AS t (twin, suffix)
             WHERE 'onegrid_app'::regrole = ANY (pol.polroles)
               AND (NOT pol.polpermissive OR t.twin = 'onegrid_app_wide')
               AND NOT EXISTS (SELECT 1 FROM pg_policy p2 WHERE p2.polrelid = pol.polrelid AND p2.polname = pol.polname || t.suffix) LOOP
        EXECUTE format('CREATE POLICY %I ON %s AS %s FOR %s TO %I%s%s', r.polname || r.suffix, r.tbl,
            CASE WHEN r.permissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, r.cmd, r.twin,
            CASE WHEN r.qual IS NOT NULL THEN format(' USING (%s)', app_wide_expr(r.qual)) ELSE '' END,
            CASE WHEN r.chk IS NOT NULL THEN format(' WITH CHECK (%s)', app_wide_expr(r.chk)) ELSE '' END);
    END LOOP;
END $$;
