-- Scope in the live outputs (issue 13, point 4): what the stream hub and the tile
-- service need to give each caller only what their scope allows.
--
--  * event_notify (0500) also announces the event's admin code and its H3 cell, so
--    that the hub can place every event in the caller's jurisdiction (its finest
--    grid, else its admin area, else '' for the whole city: the row-level security
--    rule of 0701, applied in Go with scope.Contains) and coarsen a sensitive one
--    to its resolution-9 cell for a client whose duties do not cover it. The hub
--    sends clients neither h3 nor anything else not listed in the README.
--  * event_category has a tile layer version of its own, bumped (and announced on
--    onegrid_tiles) by every write to the table: a category turned sensitive
--    changes what the event layers show to whom, so the tile caches and the hub's
--    copy of the sensitive categories follow it.

CREATE OR REPLACE FUNCTION event_notify() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n bigint;
    r record;
BEGIN
    SELECT count(*) INTO n FROM inserted_event;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    IF n > 200 THEN
        PERFORM pg_notify('onegrid_event_bulk', json_build_object('count', n)::text);
        RETURN NULL;
    END IF;
    FOR r IN SELECT * FROM inserted_event ORDER BY id LOOP
        PERFORM pg_notify('onegrid_event', json_build_object(
            'id', r.id,
            'category_code', r.category_code,
            'severity', r.severity,
            'status', r.status,
            'reported_at', r.reported_at,
            'lon', round(ST_X(r.geom)::numeric, 7),
            'lat', round(ST_Y(r.geom)::numeric, 7),
            'grid_code', r.grid_code,
            'admin_code', r.admin_code,
            'h3', r.h3)::text);
    END LOOP;
    RETURN NULL;
END $$;

INSERT INTO tile_layer_version (layer) VALUES ('event_categories') ON CONFLICT DO NOTHING;

CREATE TRIGGER tile_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON event_category
    FOR EACH STATEMENT EXECUTE FUNCTION tile_bump('event_categories');
