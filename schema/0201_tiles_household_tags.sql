-- households_h3 tiles read one row per H3 cell: the cell's tag counts are copied
-- onto tile_household_h3 (tag_names, tag_counts, sorted by tag) by the household
-- trigger, instead of being gathered from tile_household_h3_tag per cell per tile
-- (half the time of a dense z13 tile). tile_household_h3_tag stays the source.

ALTER TABLE tile_household_h3
    ADD COLUMN tag_names text[] NOT NULL DEFAULT '{}',
    ADD COLUMN tag_counts integer[] NOT NULL DEFAULT '{}';

-- tile_household_tags_refresh recomputes tag_names and tag_counts of the cells, at
-- resolutions 6..11, that contain the given resolution-12 cells.
CREATE FUNCTION tile_household_tags_refresh(cells bigint[]) RETURNS void LANGUAGE sql AS $$
    UPDATE tile_household_h3 h
    SET tag_names = s.names, tag_counts = s.counts
    FROM (
        SELECT k.res, k.cell,
               coalesce(array_agg(g.tag ORDER BY g.tag) FILTER (WHERE g.tag IS NOT NULL), '{}') AS names,
               coalesce(array_agg(g.n ORDER BY g.tag) FILTER (WHERE g.tag IS NOT NULL), '{}') AS counts
        FROM (SELECT DISTINCT r::smallint AS res, h3_parent(c, r) AS cell FROM unnest(cells) c, generate_series(6, 11) r) k
        LEFT JOIN tile_household_h3_tag g ON g.res = k.res AND g.cell = k.cell AND g.n > 0
        GROUP BY 1, 2
    ) s
    WHERE h.res = s.res AND h.cell = s.cell AND (h.tag_names, h.tag_counts) IS DISTINCT FROM (s.names, s.counts);
$$;

CREATE OR REPLACE FUNCTION tile_household_agg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO tile_household_h3 AS t (res, cell, households, people, rep)
        SELECT r, h3_parent(o.h3, r), -count(*), -sum(o.members), NULL
        FROM old_rows o, generate_series(6, 11) r
        WHERE o.h3 IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (res, cell) DO UPDATE SET households = t.households + excluded.households, people = t.people + excluded.people;
        INSERT INTO tile_household_h3_tag AS t (res, cell, tag, n)
        SELECT r, h3_parent(o.h3, r), tag, -count(*)
        FROM old_rows o, generate_series(6, 11) r, unnest(o.tags) tag
        WHERE o.h3 IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (res, cell, tag) DO UPDATE SET n = t.n + excluded.n;
        INSERT INTO tile_load AS t (kind, code, households, people)
        SELECT k.kind, k.code, -count(*), -sum(o.members)
        FROM old_rows o, LATERAL (VALUES ('grid', o.grid_code), ('admin', o.admin_code)) k (kind, code)
        WHERE k.code IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (kind, code) DO UPDATE SET households = t.households + excluded.households, people = t.people + excluded.people;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO tile_household_h3 AS t (res, cell, households, people, rep)
        SELECT r, h3_parent(h.h3, r), count(*), sum(h.members), (array_agg(a.geom_3857) FILTER (WHERE a.geom_3857 IS NOT NULL))[1]
        FROM new_rows h LEFT JOIN address a ON a.id = h.address_id, generate_series(6, 11) r
        WHERE h.h3 IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (res, cell) DO UPDATE SET households = t.households + excluded.households,
            people = t.people + excluded.people, rep = coalesce(t.rep, excluded.rep);
        INSERT INTO tile_household_h3_tag AS t (res, cell, tag, n)
        SELECT r, h3_parent(h.h3, r), tag, count(*)
        FROM new_rows h, generate_series(6, 11) r, unnest(h.tags) tag
        WHERE h.h3 IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (res, cell, tag) DO UPDATE SET n = t.n + excluded.n;
        INSERT INTO tile_load AS t (kind, code, households, people)
        SELECT k.kind, k.code, count(*), sum(h.members)
        FROM new_rows h, LATERAL (VALUES ('grid', h.grid_code), ('admin', h.admin_code)) k (kind, code)
        WHERE k.code IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (kind, code) DO UPDATE SET households = t.households + excluded.households, people = t.people + excluded.people;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM tile_household_h3 t
        USING (SELECT DISTINCT r AS res, h3_parent(o.h3, r) AS cell FROM old_rows o, generate_series(6, 11) r WHERE o.h3 IS NOT NULL) k
        WHERE t.res = k.res AND t.cell = k.cell AND t.households <= 0;
        DELETE FROM tile_household_h3_tag t
        USING (SELECT DISTINCT r AS res, h3_parent(o.h3, r) AS cell FROM old_rows o, generate_series(6, 11) r WHERE o.h3 IS NOT NULL) k
        WHERE t.res = k.res AND t.cell = k.cell AND t.n <= 0;
    END IF;
    -- Copy each touched cell's tag counts onto its row, so tiles read one row per cell.
    IF TG_OP = 'INSERT' THEN
        PERFORM tile_household_tags_refresh(ARRAY(SELECT h3 FROM new_rows WHERE h3 IS NOT NULL));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tile_household_tags_refresh(ARRAY(SELECT h3 FROM old_rows WHERE h3 IS NOT NULL));
    ELSE
        PERFORM tile_household_tags_refresh(ARRAY(
            SELECT h3 FROM new_rows WHERE h3 IS NOT NULL UNION SELECT h3 FROM old_rows WHERE h3 IS NOT NULL));
    END IF;
    RETURN NULL;
END $$;

-- Backfill.
UPDATE tile_household_h3 h
SET tag_names = s.names, tag_counts = s.counts
FROM (
    SELECT res, cell, array_agg(tag ORDER BY tag) AS names, array_agg(n ORDER BY tag) AS counts
    FROM tile_household_h3_tag WHERE n > 0 GROUP BY 1, 2
) s
WHERE h.res = s.res AND h.cell = s.cell;
