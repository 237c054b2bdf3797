-- The tile service holds the admin and grid outlines in memory and draws their
-- tiles itself (package tiles, unitmem.go). Their layers' versions also move with
-- every household and event write (the load figures change), which should make a
-- server re-read the small tile_load table, not every outline. These rows move only
-- when the outline tables are written.
INSERT INTO tile_layer_version (layer) VALUES ('admin_outlines'), ('grid_outlines') ON CONFLICT DO NOTHING;

DROP TRIGGER tile_bump ON admin_area;
CREATE TRIGGER tile_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin_area
    FOR EACH STATEMENT EXECUTE FUNCTION tile_bump('admin', 'admin_outlines');
DROP TRIGGER tile_bump ON grid;
CREATE TRIGGER tile_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grid
    FOR EACH STATEMENT EXECUTE FUNCTION tile_bump('grids', 'grid_outlines');
