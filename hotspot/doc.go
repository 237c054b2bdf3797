// Package hotspot owns running hotspot analyses against the database, storing
// their results and raising alerts; the statistics themselves stay in
// geo/hotspot (imported here as stats).
//
// # Study area and counts
//
// A study area is an admin unit (admin_area), a grid (its current version), or
// the whole loaded city (every district, or every street when no district is
// loaded). Its cells are the H3 cells at the requested resolution whose centres
// lie inside the unit's polygon (geo.CellsInPolygon), zero-filled. Events are
// selected by jurisdiction, not geometry: grid_code starts with
// unit_prefix(area) (any grid_code for the whole city), reported_at in
// [From, To), category_code starts with the category code. An event whose cell
// falls outside the study area (at the unit's edge: H3 cells follow their
// centres, not the boundary) is dropped and counted in Summary.Dropped.
// Neighbour weights are cached by (area code + geometry version, res, k).
//
// # Values
//
// Every count an analysis reads is first released by the disclosure-control
// rule (package sdc, the same threshold and base as the aggregates, Config
// MinCount): a cell's events, and by rate its households, rounded to a multiple
// of the base by the cell's record keys, a cell below the threshold counting as
// 0. Everything a result publishes (cell counts, values, z-scores, bins, the
// summary's totals, stored runs, alerts, the hotspots tile layer) is therefore
// derived from released figures only: exact z-scores of raw counts could be
// solved back into the counts. The summary's totals are released as totals
// (not sums of the released cells), so they need not add up.
//
// By "count" the value of a cell is its event count; by "rate" it is events per
// 1,000 households (households from household.h3), optionally smoothed with
// empirical Bayes ("eb"). Cells without (released) households have rate 0 and
// their events are reported in Summary.EventsWithoutHouseholds.
//
// # Stored runs, the standard set and alerts
//
// RunStandard computes, for the whole city and for each street, the last 30
// days at res 9, k 1, by count, for all categories and for each top-level
// category, and stores each result (hotspot_run, hotspot_cell via COPY),
// keeping the latest KeepRuns runs of each parameter set. Schedule repeats it.
//
// When a run is stored, each cell is compared with the previous stored run of
// the same parameter set (same area, category, res, k, by, smooth and window
// length). A cell raises an alert (hotspot_alert, announced with
// pg_notify('onegrid_alert', json) by a trigger) when its FDR-corrected bin is
// +3 (a 99 % hot spot after Benjamini-Hochberg) and either
//
//   - "new": its FDR bin in the previous run was not +3 (or it was not in the
//     previous run's area), or
//   - "intensifying": it was +3 before too and its z-score rose by at least
//     Config.IntensifyDelta (default 1.0).
//
// The first stored run of a parameter set has nothing to compare with and
// raises no alerts; an unchanged repeat raises none either.
//
// # Degenerate input
//
// Too few cells, too few events, all-equal values: the analysis answers with
// Status "nothing_to_find" and a Reason, never NaN and never an internal error.
package hotspot
