-- PostGIS for geometry, pg_trgm for Chinese address search (needs a UTF-8 locale),
-- btree_gist so a grid code's versions can be kept from overlapping in time.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gist;
