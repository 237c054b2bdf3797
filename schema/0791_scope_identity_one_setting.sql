-- The caller's identity in one setting, onegrid.id, instead of seven.
--
-- Every scoped statement is sent after the statement that sets its identity
-- (package scope). With nine set_config calls (seven onegrid.* settings, the
-- role and plan_cache_mode) that statement cost about 11 µs of the database's
-- time, and each of the settings is undone again at the end of the
-- transaction: a quarter of what row-level security added to a locate. The
-- identity is now one setting, '|'-separated in a fixed order (no field holds
-- a '|': ids, capability names, unit and category codes, user names):
--   user_id | caps | units | scope | exact | duties | user
-- (scope: see app_scope below)
-- and the role is the other one (plan_cache_mode only for the statements that
-- ask for it). app_setting keeps its contract — a field by name, NULL when
-- unset or empty — so the policies and functions that read it are unchanged;
-- its name argument is always a constant, so the CASE below folds when it is
-- inlined.

CREATE OR REPLACE FUNCTION app_setting(name text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN nullif(split_part(current_setting('onegrid.id', true), '|',
    CASE name WHEN 'user_id' THEN 1 WHEN 'caps' THEN 2 WHEN 'units' THEN 3 WHEN 'scope' THEN 4
              WHEN 'exact' THEN 5 WHEN 'duties' THEN 6 WHEN 'user' THEN 7 END), '');

-- The policies' own reads of the identity, written to be small. A policy reads
-- them in InitPlans, once per statement, but PostgreSQL builds the evaluation
-- steps of every expression of a cached plan again for each execution, and the
-- inlined bodies were most of those steps: a locate's sixteen InitPlans cost
-- about 2 µs each, against 0.7 µs for an InitPlan of a constant.
--
-- app_scope: the scope field is '=' followed by the jurisdiction's common
-- prefix when the identity has units ('=' alone for everything), else empty,
-- so one read answers what took three (the user, the units, the scope).
CREATE OR REPLACE FUNCTION app_scope() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN substr(app_setting('scope'), 2);

-- app_can: the capabilities are set only with a user, so the user need not be
-- read again; false, not NULL, without an identity (plpgsql callers test NOT
-- app_can(…)).
CREATE OR REPLACE FUNCTION app_can(cap text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce(position(',' || cap || ',' IN app_setting('caps')) > 0, false);
