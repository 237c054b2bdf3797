-- Stored hotspot analyses (package hotspot): one hotspot_run per computation, its
-- per-cell outcome in hotspot_cell, and alerts raised when a cell becomes a new or
-- intensifying 99 % hot spot between two runs of the same parameters.
--
-- A run's parameters are kept twice: as columns (for filters) and as a canonical
-- param_key (area|category|res|k|by|smooth|window) naming the parameter set, so that
-- "the previous run of the same analysis" and "keep the latest N" are one index scan.

CREATE TABLE hotspot_run (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    param_key   text COLLATE "C" NOT NULL,
    params      jsonb NOT NULL,
    area        text COLLATE "C" NOT NULL,          -- admin or grid code; '' = the whole city
    category    text COLLATE "C" NOT NULL,          -- category code prefix; '' = all
    res         smallint NOT NULL CHECK (res BETWEEN 0 AND 15),
    k           smallint NOT NULL CHECK (k >= 0),
    by          text NOT NULL CHECK (by IN ('count', 'rate')),
    smooth      text NOT NULL DEFAULT '' CHECK (smooth IN ('', 'eb')),
    from_at     timestamptz NOT NULL,
    to_at       timestamptz NOT NULL CHECK (to_at > from_at),
    computed_at timestamptz NOT NULL DEFAULT now(),
    n_cells     int NOT NULL DEFAULT 0,
    n_events    bigint NOT NULL DEFAULT 0,
    n_dropped   bigint NOT NULL DEFAULT 0,          -- events whose cell lies outside the study area
    status      text NOT NULL CHECK (status IN ('ok', 'nothing_to_find')),
    note        text NOT NULL DEFAULT '',
    standard    boolean NOT NULL DEFAULT false      -- computed by the scheduled standard set
);
CREATE INDEX hotspot_run_key_idx ON hotspot_run (param_key, computed_at DESC, id DESC);
CREATE INDEX hotspot_run_latest_idx ON hotspot_run (area, category, computed_at DESC) WHERE standard;

-- Every study-area cell of a run (zero counts included), so that the next run can
-- be compared cell by cell and a tile layer can draw the whole area. geom is the
-- cell's hexagon (WGS-84), written by the service: the database has no H3 library.
CREATE TABLE hotspot_cell (
    run_id   bigint NOT NULL REFERENCES hotspot_run (id) ON DELETE CASCADE,
    cell     bigint NOT NULL,
    count    int NOT NULL,
    value    double precision NOT NULL,           -- the analysed value: count, rate or EB rate
    z        double precision NOT NULL,
    p        double precision NOT NULL,
    bin      smallint NOT NULL CHECK (bin BETWEEN -3 AND 3),
    bin_fdr  smallint NOT NULL CHECK (bin_fdr BETWEEN -3 AND 3),
    geom     geometry(Polygon, 4326) NOT NULL,
    PRIMARY KEY (run_id, cell)
);

-- Alerts outlive the runs that raised them (runs are pruned to the latest few).
CREATE TABLE hotspot_alert (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       bigint REFERENCES hotspot_run (id) ON DELETE SET NULL,
    prev_run_id  bigint REFERENCES hotspot_run (id) ON DELETE SET NULL,
    cell         bigint NOT NULL,
    area         text COLLATE "C" NOT NULL,
    category     text COLLATE "C" NOT NULL,
    res          smallint NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('new', 'intensifying')),
    z            double precision NOT NULL,
    prev_z       double precision,
    count        int NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    acknowledged boolean NOT NULL DEFAULT false
);
CREATE INDEX hotspot_alert_created_idx ON hotspot_alert (created_at DESC, id DESC);
CREATE INDEX hotspot_alert_area_idx ON hotspot_alert (area, created_at DESC);

-- Every new alert is announced on channel onegrid_alert for the screen's event
-- stream. The payload carries no personal data, only the cell and the analysis:
--   {"type":"hotspot","id":12,"run_id":345,"cell":"89411c...","res":9,
--    "area":"440304001000","category":"01","kind":"new","z":4.1,"prev_z":1.2,
--    "count":17,"created_at":"2026-11-01T00:00:00+00:00"}
CREATE FUNCTION hotspot_alert_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('onegrid_alert', json_build_object(
        'type', 'hotspot', 'id', NEW.id, 'run_id', NEW.run_id, 'cell', h3_text(NEW.cell),
        'res', NEW.res, 'area', NEW.area, 'category', NEW.category, 'kind', NEW.kind,
        'z', round(NEW.z::numeric, 3), 'prev_z', round(NEW.prev_z::numeric, 3),
        'count', NEW.count, 'created_at', NEW.created_at)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER hotspot_alert_notify AFTER INSERT ON hotspot_alert
    FOR EACH ROW EXECUTE FUNCTION hotspot_alert_notify();

-- hotspot_latest_cells returns the cells of the latest stored standard run for an
-- area ('' = whole city) and category ('' = all), with Web Mercator hexagons: the
-- whole query a `hotspots` tile layer needs, e.g.
--   SELECT ST_AsMVT(t, 'hotspots') FROM (
--     SELECT h3_text(cell) AS cell, count, z, bin_fdr,
--            ST_AsMVTGeom(geom_3857, ST_TileEnvelope($z, $x, $y)) AS geom
--     FROM hotspot_latest_cells($area, $category)
--     WHERE geom_3857 && ST_TileEnvelope($z, $x, $y)) t;
CREATE FUNCTION hotspot_latest_cells(area text, category text)
RETURNS TABLE (run_id bigint, computed_at timestamptz, cell bigint, count int, value double precision,
               z double precision, p double precision, bin smallint, bin_fdr smallint,
               geom geometry(Polygon, 4326), geom_3857 geometry)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT r.id, r.computed_at, c.cell, c.count, c.value, c.z, c.p, c.bin, c.bin_fdr,
           c.geom, ST_Transform(c.geom, 3857)
    FROM (SELECT id, computed_at FROM hotspot_run
          WHERE standard AND hotspot_run.area = $1 AND hotspot_run.category = $2
          ORDER BY computed_at DESC, id DESC LIMIT 1) r
    JOIN hotspot_cell c ON c.run_id = r.id
$$;
