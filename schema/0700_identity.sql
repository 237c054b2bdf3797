-- Identity, jurisdiction and privacy (package auth owns the identities, package
-- scope the rule "inside this unit"; see their package comments).
--
--  * onegrid_app is the group role `onegrid serve` connects as (through a login
--    role that is a member of it): neither superuser nor BYPASSRLS, with only the
--    grants it needs (0701). The owner of the schema runs migrations, `ingest` and
--    `gen`, and bypasses row-level security as table owners do.
--  * app_user, api_token and web_session hold the identities: passwords as
--    Argon2id PHC strings, tokens and session cookies as SHA-256 hashes only. The
--    application reaches them through the SECURITY DEFINER functions below, never
--    by reading the tables, so a request cannot read another user's hashes.
--  * audit_log is append-only: who unmasked which fields of which record, when
--    and why. Only auditors read it (0701).
--  * household_personal holds the clear personal fields, encrypted by the
--    application (AES-256-GCM, the key outside the database); the application
--    role cannot read it except through unmask_household, which checks the
--    caller's role and jurisdiction and writes the audit row in the same
--    transaction.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'onegrid_app') THEN
        CREATE ROLE onegrid_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'onegrid needs a role onegrid_app (NOLOGIN) that the migrating role may grant to'
        USING HINT = 'as a superuser: CREATE ROLE onegrid_app NOLOGIN; then run the migration again';
END $$;

CREATE TABLE app_user (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text COLLATE "C" NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    display_name  text NOT NULL DEFAULT '',
    password_hash text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    -- Roles and what each may do are defined in package auth; the database keeps the names.
    roles         text[] NOT NULL CHECK (cardinality(roles) > 0 AND roles <@ ARRAY['admin', 'command', 'officer',
                      'grid_worker', 'handler', 'planner', 'analyst', 'auditor']::text[]),
    -- Jurisdiction: admin or grid codes whose subtrees the user sees; '*' is everything.
    units         text[] NOT NULL CHECK (cardinality(units) > 0),
    -- Category codes (with their subtrees) whose sensitive events are this user's duty.
    duties        text[] NOT NULL DEFAULT '{}',
    -- A password set by someone else (the first admin's, a reset) must be changed at first login.
    must_change_password boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    changed_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_token (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id),
    name         text NOT NULL CHECK (name <> ''),
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL CHECK (expires_at > created_at),
    revoked_at   timestamptz,
    last_used_at timestamptz,
    UNIQUE (user_id, name)
);

CREATE TABLE web_session (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id      bigint NOT NULL REFERENCES app_user (id),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL CHECK (expires_at > created_at)
);
CREATE INDEX web_session_user_idx ON web_session (user_id);
CREATE INDEX web_session_expires_idx ON web_session (expires_at);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    user_id     bigint,
    user_name   text NOT NULL,
    action      text NOT NULL CHECK (action <> ''),
    record_kind text NOT NULL,
    record_id   text NOT NULL,
    fields      text[] NOT NULL DEFAULT '{}',
    reason      text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_record_idx ON audit_log (record_kind, record_id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE household_personal (
    household_id bigint PRIMARY KEY REFERENCES household (id) ON DELETE CASCADE,
    key_id       text NOT NULL,              -- which data key sealed the values
    head_name    bytea,                      -- AES-256-GCM: nonce || ciphertext || tag
    phone        bytea,
    id_no        bytea
);

-- Sensitivity of what rows carry. A sensitive event category (a drug lead, a
-- child in difficulty, a suspected infectious case) never shows its room-level
-- address or exact point outside the duty of the user reading it. A sensitive
-- household tag is counted only through disclosure control and shown on rows
-- only to those who serve the household.
ALTER TABLE event_category ADD COLUMN sensitive boolean NOT NULL DEFAULT false;

CREATE TABLE household_tag_class (
    tag       text PRIMARY KEY,
    sensitive boolean NOT NULL,
    note      text NOT NULL DEFAULT ''
);
-- Tags not listed here count as sensitive.
INSERT INTO household_tag_class (tag, sensitive, note) VALUES
    ('残疾人', true, 'disability: health data'),
    ('独居老人', true, 'lives alone: a burglary and abuse risk'),
    ('留守老人', true, 'left-behind elderly'),
    ('留守儿童', true, 'left-behind child'),
    ('孕产妇', true, 'pregnancy: health data'),
    ('低保', true, 'minimum-income support: financial data'),
    ('特困', true, 'extreme hardship support'),
    ('重点人员', true, 'under supervision'),
    ('社区矫正', true, 'community corrections'),
    ('吸毒人员', true, 'drug history'),
    ('精神障碍', true, 'mental illness: health data'),
    ('退役军人', false, 'veteran: served for outreach, not sensitive'),
    ('党员', false, 'party member: public role'),
    ('志愿者', false, 'volunteer'),
    ('新市民', false, 'recently registered resident'),
    ('出租屋', false, 'rented dwelling')
ON CONFLICT (tag) DO NOTHING;
