// Package query owns onegrid's spatial questions and aggregates: locating a point
// in the admin and grid hierarchy (now or at a past instant), address lookup and
// search, features in an area with keyset paging, privacy-suppressed aggregates by
// admin unit, grid, H3 cell or uploaded polygon, and grid load.
//
// All of its SQL lives here, in one place: short statements as constants beside
// the function that runs them, long PostGIS queries as embedded .sql files that run
// unchanged in psql. SQL text varies only by choosing among fixed fragments (never
// by splicing input), so pgx's statement cache stays effective. The parsers of
// outside input (coordinates, bounding boxes, time windows, cursors, polygons,
// aggregate requests) live here too and report bad input as *ParamError.
package query
