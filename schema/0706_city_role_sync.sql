-- Keep the whole area's role (0702) in step with the application role.
--
-- A later migration grants onegrid_app what serve needs and may add a
-- RESTRICTIVE policy for it (what no caller may read, whatever the scope: the
-- flats of 0760). app_city_sync gives onegrid_app_city the same grants and the
-- same restrictive policies; schema.Migrate runs it after every migration run,
-- so a migration never has to repeat them. (A table's PERMISSIVE policies
-- differ by role — the jurisdiction's ranges against one check of the identity —
-- and come from scope_policy, 0702; a test checks every table has both.)
CREATE FUNCTION app_city_sync() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS obj, a.privilege_type AS priv, c.relkind
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
             WHERE n.nspname = 'public' AND a.grantee = 'onegrid_app'::regrole LOOP
        EXECUTE format('GRANT %s ON %s %s TO onegrid_app_city', r.priv,
            CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.obj);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS obj FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
                    aclexplode(p.proacl) a
             WHERE n.nspname = 'public' AND a.grantee = 'onegrid_app'::regrole AND a.privilege_type = 'EXECUTE' LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO onegrid_app_city', r.obj);
    END LOOP;
    FOR r IN SELECT pol.polname, pol.polrelid::regclass AS tbl,
                    CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                    WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS cmd,
                    pg_get_expr(pol.polqual, pol.polrelid) AS qual, pg_get_expr(pol.polwithcheck, pol.polrelid) AS chk
             FROM pg_policy pol
             WHERE NOT pol.polpermissive AND 'onegrid_app'::regrole = ANY (pol.polroles)
               AND NOT EXISTS (SELECT 1 FROM pg_policy p2 WHERE p2.polrelid = pol.polrelid AND p2.polname = pol.polname || '_city') LOOP
        EXECUTE format('CREATE POLICY %I ON %s AS RESTRICTIVE FOR %s TO onegrid_app_city%s%s', r.polname || '_city', r.tbl, r.cmd,
            CASE WHEN r.qual IS NOT NULL THEN format(' USING (%s)', r.qual) ELSE '' END,
            CASE WHEN r.chk IS NOT NULL THEN format(' WITH CHECK (%s)', r.chk) ELSE '' END);
    END LOOP;
END $$;
