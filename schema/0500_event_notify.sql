-- Live events for the command-centre screen: every insert into event is announced
-- with NOTIFY so that onegrid's stream hub (api/stream.go, one LISTEN connection)
-- can push it to browsers over Server-Sent Events.
--
-- The payload carries no personal data and no free text (not even the title, which
-- a reporter may have filled with a name): id, category, severity, status, time,
-- point and grid.
--
-- The trigger is per statement with a transition table rather than per row, so a
-- bulk load (COPY of a million events) does not queue a million notifications: a
-- statement that inserts more than 200 rows sends one 'onegrid_event_bulk' notice
-- with the count instead, on which clients re-read their tiles and figures.
CREATE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
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
            'grid_code', r.grid_code)::text);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER event_notify AFTER INSERT ON event
    REFERENCING NEW TABLE AS inserted_event
    FOR EACH STATEMENT EXECUTE FUNCTION event_notify();
