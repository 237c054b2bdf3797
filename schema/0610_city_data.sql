-- A new city's own data (owned by package ingest).
--
--  * event_category gets what a city's taxonomy file carries besides code,
--    parent, level and names: the responsible department and the default
--    severity of its events (a loaded event without a severity takes its
--    category's, else general). source_name is the text a category was created
--    from by `ingest events --create-categories` (or the open311 loader): loads
--    find it again by that text, so renaming a category (a changed name or
--    name_en in `ingest categories`) does not make the next load create another.
--  * load_run counts the events a load stored outside every grid.
--  * Events outside every grid are stored with grid_code NULL ("unassigned");
--    a grids load links those its new grids cover, found through
--    event_geom_idx. (A partial GiST index on the unassigned ones would hold
--    every event of a city loaded before its grids and cost each such load a
--    second GiST build: not worth it for a lookup made once per grids load.)
ALTER TABLE event_category
    ADD COLUMN department text NOT NULL DEFAULT '',
    ADD COLUMN default_severity text CHECK (default_severity IN ('general', 'important', 'urgent')),
    ADD COLUMN source_name text;

ALTER TABLE load_run ADD COLUMN unassigned bigint NOT NULL DEFAULT 0 CHECK (unassigned >= 0);
