-- events_coarse: the sensitive events a caller sees coarsened (events.sql leaves
-- them out of its rows in Go): events of the category codes $5 whose resolution-12
-- cell lies in one of the ranges [$6[i], $7[i]] (the descendants of the resolution-9
-- cells whose centres lie in the tile and its buffer: an H3 cell's descendants at
-- one resolution are one range of indexes), filtered by reported_at in [$1, $2)
-- (NULL = open-ended), category code prefix $3 and statuses $4 (NULL = all) as
-- events.sql filters. The service draws each at the centre of its resolution-9
-- cell; the exact point never leaves the database.
--
-- Each range is one scan of event_h3_idx (LATERAL: the planner would otherwise
-- scan the table or prefer event_category_idx for the category list, which reads
-- every sensitive event of the city).
SELECT v.id, v.h3, v.category_code, v.severity, v.status, v.source, v.escalation::int, v.reported_at, v.deadline
FROM unnest($6::bigint[], $7::bigint[]) r (lo, hi), LATERAL (
    SELECT e.* FROM event e WHERE e.h3 BETWEEN r.lo AND r.hi OFFSET 0
) v
WHERE v.category_code = ANY ($5::text[])
  AND ($1::timestamptz IS NULL OR v.reported_at >= $1)
  AND ($2::timestamptz IS NULL OR v.reported_at < $2)
  AND ($3::text IS NULL OR starts_with(v.category_code, $3))
  AND ($4::text[] IS NULL OR v.status = ANY ($4));
