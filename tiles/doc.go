// Package tiles owns onegrid's vector tiles: the layer registry (which layers exist,
// their zoom bands and properties), the tile SQL (built once per layer, embedded from
// sql/), H3 hexagon layers encoded in Go from pre-aggregated counts or, for
// events_h3 with a time window or a category, from an in-memory event index kept
// up to date from the rows changed since it was read (evindex.go), the in-memory
// tile cache (gzip once, byte-bounded LRU, ETags), and freshness: per-layer data
// versions bumped by database triggers, announced with NOTIFY onegrid_tiles and
// checked before a cached tile is served, so no tile older than a committed write
// is ever returned.
package tiles
