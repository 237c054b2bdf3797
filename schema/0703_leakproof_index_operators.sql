-- Index operators that row-level security may use.
--
-- Under a row-level security policy PostgreSQL uses a query's condition as an
-- index condition only when its operator is LEAKPROOF (it could otherwise see
-- rows the policy hides before the policy runs). PostGIS's and pg_trgm's
-- operators are not marked so, which turned every bounding-box, nearest-address
-- and trigram search of serve into a scan of the whole table (a locate took
-- 90-160 ms instead of 0.2-0.4). The operators below search the GiST, SP-GiST and
-- GIN indexes of onegrid's geometry and text columns. They leak nothing about a
-- hidden row: each returns only its boolean or distance, and the only errors
-- they raise depend on the query's own argument (mixed SRIDs: every geometry
-- column here has a fixed SRID, so a row cannot cause one; pg_trgm's operators
-- and LIKE raise none a row's value could cause; LIKE's bad escape comes from
-- the pattern). Marking them needs a superuser; without one the migration says
-- so and serve warns at start (schema.CheckLeakproof), and the README tells an
-- external server's administrator to run this file.
DO $$
DECLARE
    f regprocedure;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE WARNING 'onegrid: not a superuser: the index operators of PostGIS and pg_trgm stay non-LEAKPROOF, so row-level security keeps them off the indexes (see README, "An external PostgreSQL server")';
        RETURN;
    END IF;
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.proname IN ('geometry_overlaps', 'geometry_contains', 'geometry_within', 'geometry_distance_centroid',
                                 'geometry_distance_box', 'overlaps_2d', 'contains_2d', 'is_contained_2d',
                                 'similarity_op', 'word_similarity_op', 'strict_word_similarity_op',
                                 'similarity_dist', 'word_similarity_dist_op', 'textlike')
               AND NOT p.proleakproof LOOP
        EXECUTE format('ALTER FUNCTION %s LEAKPROOF', f);
    END LOOP;
END $$;
