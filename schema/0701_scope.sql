-- Scope by construction: row-level security on every table that holds located or
-- personal rows, and the grants of onegrid_app.
--
-- Each request of `onegrid serve` runs in a transaction that first sets the
-- caller's identity with set_config(…, true) (SET LOCAL; package scope writes
-- them, nothing else does):
--   onegrid.user_id  the user's id ('0' for the server's own background work)
--   onegrid.user     the user's name, for the audit log
--   onegrid.caps     ',rows,households,…,': what the user's roles allow (package auth)
--   onegrid.units    ',440304001,440304002001001,': the unit prefixes of the jurisdiction
--   onegrid.scope    the longest prefix common to all of them ('' for everything)
--   onegrid.exact    't' when onegrid.scope alone is the jurisdiction (one unit, or everything)
--   onegrid.duties   ',13,0804,': category prefixes whose sensitive events are the user's duty
-- Without them (a connection that forgot, a transaction that ended) every policy
-- below answers nothing: a forgotten WHERE returns nothing, not everything.
--
-- "Inside this unit" has one definition, inside(code, prefix): the range
-- prefix <= code < prefix || U+10FFFF on the "C"-collated code, which a B-tree
-- on the code answers. The jurisdiction rule is: inside the scope (the common
-- prefix of the user's units) and, for a user with several units, inside one of
-- them. Policies state the scope's range with both bounds as InitPlans
-- ((SELECT app_scope()), (SELECT app_scope_end())), which PostgreSQL computes
-- once per query and hands to the B-tree; written as inside(code, (SELECT …))
-- the function could not be inlined (an InitPlan argument may be used only
-- once), and the stable expressions it would inline to cost about 0.4 µs a row.
-- scope_rule below is the one place that writes it; in_scope is the same rule
-- for code that checks a single value.

-- inside is the one "inside this unit" rule: code lies in the subtree whose codes
-- start with prefix. Codes are ASCII, so every code that starts with prefix sorts
-- between prefix and prefix || U+10FFFF in the "C" collation.
CREATE FUNCTION inside(code text, prefix text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN code COLLATE "C" >= prefix COLLATE "C" AND code COLLATE "C" < (prefix || chr(1114111)) COLLATE "C";

-- The caller's identity, as set by package scope (NULL or empty when unset).
CREATE FUNCTION app_setting(name text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN nullif(current_setting('onegrid.' || name, true), '');

CREATE FUNCTION app_user_id() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
RETURN app_setting('user_id')::bigint;

-- app_scope is the jurisdiction's common prefix: '' for everything, NULL without
-- an identity or without units (a user who must change their password first).
CREATE FUNCTION app_scope() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN app_setting('user_id') IS NOT NULL AND app_setting('units') IS NOT NULL
            THEN coalesce(current_setting('onegrid.scope', true), '') END;

-- app_scope_end is the upper bound of the scope's range (see inside).
CREATE FUNCTION app_scope_end() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN app_scope() || chr(1114111);

CREATE FUNCTION app_exact() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce(app_setting('exact') = 't', false);

-- app_can reports whether the caller's roles allow a capability (package auth
-- defines which roles allow what).
CREATE FUNCTION app_can(cap text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN app_setting('user_id') IS NOT NULL AND position(',' || cap || ',' IN coalesce(app_setting('caps'), '')) > 0;

-- in_units checks a code against each unit of a jurisdiction of several units.
CREATE FUNCTION in_units(code text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT EXISTS (SELECT 1 FROM unnest(string_to_array(trim(BOTH ',' FROM app_setting('units')), ',')) u
                   WHERE inside(code, u))
$$;

-- in_scope is the jurisdiction rule for one row's unit code.
CREATE FUNCTION in_scope(code text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN inside(code, app_scope()) AND (app_exact() OR in_units(code));

-- covers_scope reports whether a unit (an admin area or grid, by its prefix)
-- contains part of the jurisdiction: the ancestors of a user's units, whose names
-- and outlines a breadcrumb needs.
CREATE FUNCTION covers_scope(prefix text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT EXISTS (SELECT 1 FROM unnest(string_to_array(trim(BOTH ',' FROM app_setting('units')), ',')) u
                   WHERE inside(u, prefix))
$$;

-- app_duty reports whether a category is the caller's duty (sensitive events in
-- it are shown exactly).
CREATE FUNCTION app_duty(category text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT EXISTS (SELECT 1 FROM unnest(string_to_array(trim(BOTH ',' FROM app_setting('duties')), ',')) d
                   WHERE inside(category, d))
$$;

-- Policies. The rule text is written once, in scope_rule, and the policies are
-- generated from it, so every table states only which code column locates a row
-- and which capability reads it.
CREATE FUNCTION pg_temp.scope_rule(code text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN format('((%1$s) COLLATE "C" >= (SELECT app_scope()) COLLATE "C" AND (%1$s) COLLATE "C" < (SELECT app_scope_end()) COLLATE "C"'
    ' AND ((SELECT app_exact()) OR in_units(%1$s)))', code);
-- A located row's unit is its finest grid, else (outside every grid) its admin
-- area, else ('': loaded outside every area) the whole city. Two arms of an OR,
-- not a coalesce, so that the grid_code B-tree answers the first.
CREATE FUNCTION pg_temp.located_rule() RETURNS text LANGUAGE sql IMMUTABLE
RETURN format('((grid_code IS NOT NULL AND %s) OR (grid_code IS NULL AND %s))',
    pg_temp.scope_rule('grid_code'), pg_temp.scope_rule('coalesce(admin_code, '''')'));

DO $$
DECLARE
    -- table, capability that reads it, the policy's condition on the row's location
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        -- located rows
        ('address', 'rows', pg_temp.located_rule()),
        ('building', 'rows', pg_temp.located_rule()),
        ('event', 'rows', pg_temp.located_rule()),
        ('household', 'households', pg_temp.located_rule()),
        -- rows of rows: visible with their parent (its own policy applies in the subquery)
        ('address_alias', 'rows', 'EXISTS (SELECT 1 FROM address a WHERE a.id = address_id)'),
        ('event_step', 'rows', 'EXISTS (SELECT 1 FROM event e WHERE e.id = event_id)'),
        -- units: inside the jurisdiction, or an ancestor of it
        ('admin_area', 'any', format('(%s OR covers_scope(unit_prefix(code)))', pg_temp.scope_rule('code'))),
        ('grid', 'any', format('(%s OR covers_scope(code))', pg_temp.scope_rule('code'))),
        -- roll-ups keyed by unit: what lies inside the jurisdiction
        ('household_rollup', 'aggregates', pg_temp.scope_rule('coalesce(grid_code, admin_code, '''')')),
        ('household_tag_rollup', 'aggregates', pg_temp.scope_rule('coalesce(grid_code, admin_code, '''')')),
        ('event_rollup_month', 'aggregates', pg_temp.scope_rule('admin_code')),
        ('event_close_hist_month', 'aggregates', pg_temp.scope_rule('admin_code')),
        ('tile_load', 'aggregates', pg_temp.scope_rule('code')),
        -- roll-ups keyed by H3 cell span units: the whole city's only
        ('tile_event_h3', 'aggregates', '(SELECT app_scope()) = '''''),
        ('tile_household_h3', 'aggregates', '(SELECT app_scope()) = '''''),
        ('tile_household_h3_tag', 'aggregates', '(SELECT app_scope()) = '''''),
        -- hotspot analyses of a unit ('' = the whole city)
        ('hotspot_run', 'aggregates', pg_temp.scope_rule('area')),
        ('hotspot_cell', 'aggregates', 'EXISTS (SELECT 1 FROM hotspot_run r WHERE r.id = run_id)'),
        ('hotspot_alert', 'aggregates', pg_temp.scope_rule('area')),
        -- loads and their rejected raw rows: administrators only
        ('load_run', 'loads', 'true'),
        ('load_reject', 'loads', 'true'),
        -- the audit log: auditors only
        ('audit_log', 'audit', 'true'),
        -- identities: users see their own; user administrators everyone's
        ('app_user', 'any', '(id = (SELECT app_user_id()) OR (SELECT app_can(''users'')))'),
        ('api_token', 'any', '(user_id = (SELECT app_user_id()) OR (SELECT app_can(''users'')))'),
        ('web_session', 'any', 'user_id = (SELECT app_user_id())')
    ) AS v (tbl, cap, cond) LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.tbl);
        EXECUTE format('CREATE POLICY scope_read ON %I FOR SELECT TO onegrid_app USING (%s AND %s)', t.tbl,
            CASE t.cap WHEN 'any' THEN '(SELECT app_scope()) IS NOT NULL' ELSE format('(SELECT app_can(%L))', t.cap) END,
            t.cond);
    END LOOP;
END $$;
DROP FUNCTION pg_temp.located_rule();
DROP FUNCTION pg_temp.scope_rule(text);

-- Writes the application makes, each inside the writer's jurisdiction.
CREATE POLICY scope_insert ON event FOR INSERT TO onegrid_app
    WITH CHECK ((SELECT app_can('events')) AND coalesce(in_scope(grid_code), in_scope(coalesce(admin_code, ''))));
CREATE POLICY scope_update ON event FOR UPDATE TO onegrid_app
    USING ((SELECT app_can('events')) AND coalesce(in_scope(grid_code), in_scope(coalesce(admin_code, ''))))
    WITH CHECK ((SELECT app_can('events')) AND coalesce(in_scope(grid_code), in_scope(coalesce(admin_code, ''))));
CREATE POLICY scope_insert ON event_step FOR INSERT TO onegrid_app
    WITH CHECK ((SELECT app_can('events')) AND EXISTS (SELECT 1 FROM event e WHERE e.id = event_id));
CREATE POLICY scope_insert ON hotspot_run FOR INSERT TO onegrid_app
    WITH CHECK ((SELECT app_can('aggregates')) AND in_scope(area));
CREATE POLICY scope_delete ON hotspot_run FOR DELETE TO onegrid_app
    USING ((SELECT app_can('aggregates')) AND in_scope(area));
CREATE POLICY scope_insert ON hotspot_cell FOR INSERT TO onegrid_app
    WITH CHECK (EXISTS (SELECT 1 FROM hotspot_run r WHERE r.id = run_id));
CREATE POLICY scope_insert ON hotspot_alert FOR INSERT TO onegrid_app
    WITH CHECK ((SELECT app_can('aggregates')) AND in_scope(area));
-- Every identity may append to the audit log, in its own name only.
CREATE POLICY own_entries ON audit_log FOR INSERT TO onegrid_app
    WITH CHECK (user_id IS NOT DISTINCT FROM (SELECT app_user_id()));

-- Grants: read what the policies allow, write only what serve writes. The clear
-- personal data (household_personal) and the partitions of the H3 roll-ups (read
-- through their parents, whose policies apply) are not granted.
GRANT USAGE ON SCHEMA public TO onegrid_app;
GRANT SELECT ON admin_area, address, address_alias, building, household, grid, event_category, event,
    event_step, load_run, load_reject, tile_layer_version, tile_event_h3, tile_household_h3, tile_household_h3_tag,
    tile_load, household_rollup, household_tag_rollup, event_rollup_month, event_close_hist_month,
    hotspot_run, hotspot_cell, hotspot_alert, schema_migration, spatial_ref_sys, app_user, api_token,
    web_session, audit_log, household_tag_class TO onegrid_app;
GRANT INSERT, UPDATE ON event TO onegrid_app;
GRANT INSERT ON event_step, hotspot_cell, hotspot_alert, audit_log TO onegrid_app;
GRANT INSERT, DELETE ON hotspot_run TO onegrid_app;
GRANT USAGE ON SEQUENCE event_id_seq, event_step_id_seq, hotspot_run_id_seq, hotspot_alert_id_seq,
    audit_log_id_seq TO onegrid_app;

-- Triggers keep roll-ups, tile versions and notifications that a writer may not
-- (and must not) read or write itself: every trigger function runs as the
-- schema's owner. (A later migration that replaces one must say SECURITY
-- DEFINER again; schema tests check that every trigger function does.)
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT DISTINCT t.tgfoid::regprocedure FROM pg_trigger t
             JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE NOT t.tgisinternal AND n.nspname = 'public' LOOP
        EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = public, pg_temp', f);
    END LOOP;
END $$;

-- Authentication runs before there is an identity: these functions are the only
-- way serve reaches the identity tables, and they return no more than the check
-- needs (the password hash goes to the server, which verifies it; a token's or
-- session's user only when it is live).
-- unit_prefixes turns a user's units into the prefixes of a scope ('*': everything).
CREATE FUNCTION unit_prefixes(units text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY(SELECT CASE WHEN u = '*' THEN '' ELSE unit_prefix(u) END FROM unnest(units) u);

CREATE FUNCTION auth_user_by_name(user_name text)
RETURNS TABLE (id bigint, name text, display_name text, password_hash text, status text, roles text[],
               units text[], prefixes text[], duties text[], must_change_password boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT id, name, display_name, password_hash, status, roles, units, unit_prefixes(units), duties, must_change_password
    FROM app_user WHERE name = user_name
$$;

CREATE FUNCTION auth_user_by_token(hash bytea, at timestamptz)
RETURNS TABLE (id bigint, name text, display_name text, status text, roles text[], units text[], prefixes text[],
               duties text[], must_change_password boolean, token_id bigint, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT u.id, u.name, u.display_name, u.status, u.roles, u.units, unit_prefixes(u.units), u.duties,
           u.must_change_password, t.id, t.expires_at
    FROM api_token t JOIN app_user u ON u.id = t.user_id
    WHERE t.token_hash = hash AND t.revoked_at IS NULL AND t.expires_at > at AND u.status = 'active'
$$;

CREATE FUNCTION auth_user_by_session(hash bytea, at timestamptz)
RETURNS TABLE (id bigint, name text, display_name text, status text, roles text[], units text[], prefixes text[],
               duties text[], must_change_password boolean, token_id bigint, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT u.id, u.name, u.display_name, u.status, u.roles, u.units, unit_prefixes(u.units), u.duties,
           u.must_change_password, NULL::bigint, s.expires_at
    FROM web_session s JOIN app_user u ON u.id = s.user_id
    WHERE s.token_hash = hash AND s.expires_at > at AND u.status = 'active'
$$;

-- A session is created for a user whose password the server has just verified.
CREATE FUNCTION auth_session_create(hash bytea, uid bigint, at timestamptz, expires timestamptz) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    DELETE FROM web_session WHERE expires_at <= at;
    INSERT INTO web_session (token_hash, user_id, created_at, expires_at)
    SELECT hash, id, at, expires FROM app_user WHERE id = uid AND status = 'active';
$$;

CREATE FUNCTION auth_session_end(hash bytea) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ DELETE FROM web_session WHERE token_hash = hash $$;

-- A user changes their own password (the server verified the old one and hashed the new).
CREATE FUNCTION auth_set_password(uid bigint, hash text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    UPDATE app_user SET password_hash = hash, must_change_password = false, changed_at = now()
    WHERE id = uid AND id = app_user_id();
$$;

CREATE FUNCTION auth_token_used(tid bigint, at timestamptz) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ UPDATE api_token SET last_used_at = at WHERE id = tid AND (last_used_at IS NULL OR last_used_at < at - interval '1 minute') $$;

-- unmask_household returns the sealed personal fields of one household to a
-- caller whose roles allow unmasking ('personal') and whose jurisdiction holds
-- the household, after writing who, which record, which fields and why to the
-- audit log in the same transaction. The server opens the seals.
CREATE FUNCTION unmask_household(hid bigint, want text[], why text, request text)
RETURNS TABLE (key_id text, head_name bytea, phone bytea, id_no bytea)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    located text[];
BEGIN
    IF NOT app_can('personal') THEN
        RAISE EXCEPTION 'unmasking needs a role that allows it' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF length(btrim(coalesce(why, ''))) < 4 THEN
        RAISE EXCEPTION 'unmasking needs a stated reason' USING ERRCODE = 'check_violation';
    END IF;
    IF want IS NULL OR cardinality(want) = 0 OR NOT want <@ ARRAY['head_name', 'phone', 'id_no'] THEN
        RAISE EXCEPTION 'fields: want head_name, phone and/or id_no' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT ARRAY[h.grid_code, h.admin_code] INTO located FROM household h WHERE h.id = hid;
    IF NOT FOUND OR NOT coalesce(in_scope(located[1]), in_scope(coalesce(located[2], ''))) THEN
        RAISE EXCEPTION 'household % not found', hid USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO audit_log (user_id, user_name, action, record_kind, record_id, fields, reason, request_id)
    VALUES (app_user_id(), coalesce(app_setting('user'), ''), 'unmask', 'household', hid::text, want, btrim(why), coalesce(request, ''));
    RETURN QUERY SELECT p.key_id,
        CASE WHEN 'head_name' = ANY (want) THEN p.head_name END,
        CASE WHEN 'phone' = ANY (want) THEN p.phone END,
        CASE WHEN 'id_no' = ANY (want) THEN p.id_no END
    FROM household_personal p WHERE p.household_id = hid;
END $$;

REVOKE ALL ON FUNCTION auth_user_by_name(text), auth_user_by_token(bytea, timestamptz),
    auth_user_by_session(bytea, timestamptz), auth_session_create(bytea, bigint, timestamptz, timestamptz),
    auth_session_end(bytea), auth_set_password(bigint, text), auth_token_used(bigint, timestamptz),
    unmask_household(bigint, text[], text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_by_name(text), auth_user_by_token(bytea, timestamptz),
    auth_user_by_session(bytea, timestamptz), auth_session_create(bytea, bigint, timestamptz, timestamptz),
    auth_session_end(bytea), auth_set_password(bigint, text), auth_token_used(bigint, timestamptz),
    unmask_household(bigint, text[], text, text) TO onegrid_app;
