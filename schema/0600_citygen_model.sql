-- The generated city's model (package citygen), recorded by `onegrid gen` so that
-- `onegrid gen --keep` can bring the city up to date: it draws the events between
-- the end of the city's events and now with the same model (category mix,
-- severities, sources, places and hours, planted hotspots continuing) and moves
-- on the events that were still open. Nothing here is personal.
CREATE TABLE citygen_city (
    dataset              text PRIMARY KEY CHECK (dataset = 'citygen'),
    seed                 bigint NOT NULL,          -- the generator's uint64 seed, its bits as a bigint
    households           int NOT NULL CHECK (households > 0),
    months               int NOT NULL CHECK (months > 0),
    events_per_household float8 NOT NULL CHECK (events_per_household >= 0),
    period_start         timestamptz NOT NULL,     -- start of the generated period (the grids' valid_from)
    generated_end        timestamptz NOT NULL,     -- end of the generated period
    period_end           timestamptz NOT NULL,     -- the events are complete up to here (exclusive); each catch-up moves it
    hotspots             jsonb NOT NULL DEFAULT '[]', -- the planted hotspots, as in the ground-truth file
    recorded             boolean NOT NULL DEFAULT true, -- false: inferred from a city generated before this table
    CHECK (period_start < generated_end AND generated_end <= period_end)
);

-- When each generated event still open at period_end will be closed: drawn with
-- the event (for a city generated before this table: when it is first caught
-- up), so that a catch-up closes it when its time has come. Keyed by the event's
-- dataset_id (dataset citygen); a row whose event is gone is ignored.
CREATE TABLE citygen_pending (
    dataset_id text PRIMARY KEY,
    closes_at  timestamptz NOT NULL
);

-- Only the schema's owner (gen, like ingest) reads and writes these; they are
-- not granted to the application role (scope/rls_test.go lists them as exempt).
