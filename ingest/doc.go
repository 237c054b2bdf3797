// Package ingest owns the readers of outside files and their loading into the
// database: streaming CSV and GeoJSON readers with a column mapping, OpenStreetMap
// (XML and PBF) and Open311 exports; COPY-based loading through a staging table
// and one set-based INSERT … SELECT per load; linking every row to addresses,
// admin areas, the grid version current at its time and its H3 cell; and rejects.
//
// A load is one transaction. Rows go through pgx CopyFrom into a temporary staging
// table; rows that cannot be parsed are staged with their reason, rows that break a
// rule only the database can check (an unknown category, a missing address, a point
// outside every grid, an invalid polygon, a duplicate id in the file) are marked by
// anti-joins on the staging table, and only then is the rest inserted with ON
// CONFLICT (dataset, dataset_id) DO NOTHING, so re-loading a file adds nothing.
// Every reject goes to the load_reject table and a CSV reject file with its line
// (or feature) number, field, reason and raw row; the load_run table records
// what each run read, loaded and rejected.
package ingest
