-- The hotspots tile layer draws the latest stored standard run; a new run (cells
-- written) or a pruned one bumps the layer's version like any other tile source.
INSERT INTO tile_layer_version (layer) VALUES ('hotspots') ON CONFLICT DO NOTHING;

CREATE TRIGGER tile_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON hotspot_cell
    FOR EACH STATEMENT EXECUTE FUNCTION tile_bump('hotspots');
