-- Row-level security and the spatial index. Under row-level security PostgreSQL
-- uses a condition of the query in an index scan ahead of the policy's own only
-- if its function is LEAKPROOF (it must reveal nothing about rows the policy
-- hides), and PostGIS does not mark geometry && (geometry_overlaps) so: on a
-- table with a policy the GiST index of a bounding-box search was unusable, and
-- every event or address tile read the whole table through the policy's code
-- range (14 s for a z15 event tile of the 1,000,000-household city).
--
-- geometry_overlaps compares the two bounding boxes stored in (or computed from)
-- its arguments and returns true or false; it raises no error that depends on a
-- value and has no side effect, which is what LEAKPROOF promises. Only a
-- superuser may say so: as any other role this migration warns and changes
-- nothing, and tiles of the row layers stay slow until a superuser runs the
-- statement below. An upgrade of PostGIS (ALTER EXTENSION postgis UPDATE)
-- recreates the function without the mark; run it again then.
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION geometry_overlaps(geometry, geometry) LEAKPROOF;
    ELSE
        RAISE WARNING 'geometry && is not LEAKPROOF, so row-level security keeps the spatial index out of tile queries'
            USING HINT = 'as a superuser: ALTER FUNCTION geometry_overlaps(geometry, geometry) LEAKPROOF;';
    END IF;
END $$;
