-- A second application role for callers whose jurisdiction is everything.
--
-- PostgreSQL plans a policy's InitPlan bounds without knowing them and takes the
-- jurisdiction's range for a selective one: for a caller who sees the whole city
-- it then walks the grid-code index over every row (a locate took 700 ms instead
-- of 0.2). Callers of the whole area therefore run as onegrid_app_city, whose
-- policies check only the identity's capabilities and that its scope is
-- everything — one-time filters, no range, no per-row cost — while every other
-- caller runs as onegrid_app with the range policies of 0701. A city policy is
-- one InitPlan returning one boolean: PostgreSQL estimates a boolean Param at
-- one half, where two conditions on Params (the capability, the scope) were
-- taken as 1 in 400 and turned a hash aggregate of 80,000 events into a sort
-- of them. Package scope
-- chooses the role with the identity in every transaction (set_config('role',
-- …, true)); correctness never depends on the choice: a city policy answers
-- nothing to a scope that is not everything.
--
-- scope_policy(table, command, capability, condition) is how a later migration
-- gives a new table its policies: the condition is the row's rule for the
-- scoped role ('true' where only the capability matters), and the city role's
-- policy is derived from it.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onegrid_app_city') THEN
        CREATE ROLE onegrid_app_city NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'onegrid needs a role onegrid_app_city (NOLOGIN) that the migrating role may grant to'
        USING HINT = 'as a superuser: CREATE ROLE onegrid_app_city NOLOGIN; then run the migration again';
END $$;

-- The same grants as onegrid_app (0701).
GRANT USAGE ON SCHEMA public TO onegrid_app_city;
GRANT SELECT ON admin_area, address, address_alias, building, household, grid, event_category, event,
    event_step, load_run, load_reject, tile_layer_version, tile_event_h3, tile_household_h3, tile_household_h3_tag,
    tile_load, household_rollup, household_tag_rollup, event_rollup_month, event_close_hist_month,
    hotspot_run, hotspot_cell, hotspot_alert, schema_migration, spatial_ref_sys, app_user, api_token,
    web_session, audit_log, household_tag_class TO onegrid_app_city;
GRANT INSERT, UPDATE ON event TO onegrid_app_city;
GRANT INSERT ON event_step, hotspot_cell, hotspot_alert, audit_log TO onegrid_app_city;
GRANT INSERT, DELETE ON hotspot_run TO onegrid_app_city;
GRANT USAGE ON SEQUENCE event_id_seq, event_step_id_seq, hotspot_run_id_seq, hotspot_alert_id_seq,
    audit_log_id_seq TO onegrid_app_city;
GRANT EXECUTE ON FUNCTION auth_user_by_name(text), auth_user_by_token(bytea, timestamptz),
    auth_user_by_session(bytea, timestamptz), auth_session_create(bytea, bigint, timestamptz, timestamptz),
    auth_session_end(bytea), auth_set_password(bigint, text), auth_token_used(bigint, timestamptz),
    unmask_household(bigint, text[], text, text) TO onegrid_app_city;

-- Every login role that serve connects as may take either role.
DO $$
DECLARE
    r name;
BEGIN
    FOR r IN SELECT m.rolname FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member
             WHERE am.roleid = 'onegrid_app'::regrole AND m.rolcanlogin LOOP
        EXECUTE format('GRANT onegrid_app_city TO %I', r);
    END LOOP;
END $$;

-- scope_policy creates a policy for both roles: for onegrid_app the capability
-- and the condition, for onegrid_app_city the capability and a scope of
-- everything. cmd is SELECT, INSERT, UPDATE or DELETE; cap 'any' is any
-- identity.
CREATE FUNCTION scope_policy(tbl regclass, cmd text, cap text, cond text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    name text := 'scope_' || lower(cmd);
    clause text := CASE upper(cmd) WHEN 'INSERT' THEN 'WITH CHECK' ELSE 'USING' END;
BEGIN
    EXECUTE format('CREATE POLICY %I ON %s FOR %s TO onegrid_app %s (%s AND %s)', name, tbl, cmd, clause,
        CASE cap WHEN 'any' THEN '(SELECT app_scope()) IS NOT NULL' ELSE format('(SELECT app_can(%L))', cap) END, cond);
    EXECUTE format('CREATE POLICY %I ON %s FOR %s TO onegrid_app_city %s (%s)', name || '_city', tbl, cmd, clause,
        city_check(cap));
END $$;

-- city_check is a city policy's whole condition: one InitPlan, one boolean.
CREATE FUNCTION city_check(cap text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN CASE cap WHEN 'any' THEN '(SELECT app_scope() = '''')'
                ELSE format('(SELECT app_can(%L) AND app_scope() = '''')', cap) END;

-- The city twins of 0701's policies.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('address', 'rows'), ('building', 'rows'), ('event', 'rows'), ('household', 'households'),
        ('address_alias', 'rows'), ('event_step', 'rows'), ('admin_area', 'any'), ('grid', 'any'),
        ('household_rollup', 'aggregates'), ('household_tag_rollup', 'aggregates'),
        ('event_rollup_month', 'aggregates'), ('event_close_hist_month', 'aggregates'), ('tile_load', 'aggregates'),
        ('tile_event_h3', 'aggregates'), ('tile_household_h3', 'aggregates'), ('tile_household_h3_tag', 'aggregates'),
        ('hotspot_run', 'aggregates'), ('hotspot_cell', 'aggregates'), ('hotspot_alert', 'aggregates'),
        ('load_run', 'loads'), ('load_reject', 'loads'), ('audit_log', 'audit')
    ) AS v (tbl, cap) LOOP
        EXECUTE format('CREATE POLICY scope_read_city ON %I FOR SELECT TO onegrid_app_city USING (%s)', t.tbl, city_check(t.cap));
    END LOOP;
    FOR t IN SELECT * FROM (VALUES
        ('event', 'INSERT', 'events'), ('event', 'UPDATE', 'events'), ('event_step', 'INSERT', 'events'),
        ('hotspot_run', 'INSERT', 'aggregates'), ('hotspot_run', 'DELETE', 'aggregates'),
        ('hotspot_cell', 'INSERT', 'aggregates'), ('hotspot_alert', 'INSERT', 'aggregates')
    ) AS v (tbl, cmd, cap) LOOP
        EXECUTE format('CREATE POLICY %I ON %I FOR %s TO onegrid_app_city %s (%s)', 'scope_' || lower(t.cmd) || '_city',
            t.tbl, t.cmd, CASE t.cmd WHEN 'INSERT' THEN 'WITH CHECK' WHEN 'UPDATE' THEN 'USING (' || city_check(t.cap) || ') WITH CHECK' ELSE 'USING' END,
            city_check(t.cap));
    END LOOP;
END $$;
-- Identities are the same whatever the scope: a user's own rows, or every row for user administrators.
CREATE POLICY scope_read_city ON app_user FOR SELECT TO onegrid_app_city
    USING ((SELECT app_scope() = '') AND (id = (SELECT app_user_id()) OR (SELECT app_can('users'))));
CREATE POLICY scope_read_city ON api_token FOR SELECT TO onegrid_app_city
    USING ((SELECT app_scope() = '') AND (user_id = (SELECT app_user_id()) OR (SELECT app_can('users'))));
CREATE POLICY scope_read_city ON web_session FOR SELECT TO onegrid_app_city
    USING ((SELECT app_scope() = '') AND user_id = (SELECT app_user_id()));
-- Every identity may append to the audit log, in its own name only.
CREATE POLICY own_entries_city ON audit_log FOR INSERT TO onegrid_app_city
    WITH CHECK (user_id IS NOT DISTINCT FROM (SELECT app_user_id()));
