-- Hotspot counts read (h3, category_code, grid_code) of the events in a time window.
-- Events are loaded building by building, not in time order, so a window's rows are
-- scattered over the heap; covering the columns lets the count be an index-only scan
-- (on a 1M-household city: 30 days' 83,000 events in 0.35 s instead of 0.55 s).
CREATE INDEX event_hotspot_idx ON event (reported_at) INCLUDE (h3, category_code, grid_code);
