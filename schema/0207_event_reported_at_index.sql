-- event_reported_at_idx (reported_at) is redundant: event_reported_cover_idx (0300)
-- has the same key, so every range or ordered scan it served the covering index
-- serves too (a bitmap scan of a month's window reads the same entries; measured on
-- a 1M-event city: 8-10 ms either way). Dropping it saves its build in every bulk
-- load (onegrid gen, ingest --bulk) and its upkeep on every insert. The narrower
-- covering event_hotspot_idx (0401) stays: the hotspot counts' index-only scans read
-- a third of the pages of the wide one (a 30-day count: 24 ms against 34-41 ms).
DROP INDEX event_reported_at_idx;
