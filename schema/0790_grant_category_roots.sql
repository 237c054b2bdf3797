-- The standard hotspot set counts each event under its level-1 category through
-- the view event_category_roots (0300). serve runs it as the application role,
-- which 0701 granted the tables but not this view, so the scheduled set failed
-- with "permission denied for view event_category_roots" and stored nothing.
-- The view reads only the public taxonomy. app_city_sync gives the city and
-- wide roles the same grant after this migration.
GRANT SELECT ON event_category_roots TO onegrid_app;
