-- Two spatial indexes that every load and `onegrid gen` built and no query used:
--  * address_geom_3857_idx: the address tiles and locate's nearest doorplate both
--    ask for active road and building addresses, which the partial
--    address_doorplate_3857_idx serves (the full index covered a million rooms);
--  * event_geom_3857_idx: the event tiles now find their points with the
--    lon/lat index event_geom_idx (the tile's Web Mercator box transformed once per
--    tile is an exact lon/lat box) and project them themselves.
-- They cost 1.1 s and 1.5 s of a 1,000,000-household gen and as much of every
-- bulk load of as many rows. The geom_3857 columns stay: the tiles and roll-ups read them.
DROP INDEX IF EXISTS address_geom_3857_idx;
DROP INDEX IF EXISTS event_geom_3857_idx;
