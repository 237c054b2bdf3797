-- events_coarse: the sensitive events a caller sees coarsened (events.sql leaves
-- them out of its rows in Go): the events $5, filtered by reported_at in [$1, $2)
-- (NULL = open-ended), category code prefix $3 and statuses $4 (NULL = all) as
-- events.sql filters. The service finds the ids in its event index (the events of
-- the categories it coarsens in the resolution-9 cells whose centres lie in the
-- tile and its buffer), keeps the rows of those categories (as events.sql's rows
-- keep the others) and draws each at the centre of its resolution-9 cell; the
-- exact point never leaves the database, and row-level security decides, as for
-- every tile query, which of them the caller may see.
SELECT v.id, v.h3, v.category_code, v.severity, v.status, v.source, v.escalation::int, v.reported_at, v.deadline
FROM event v
WHERE v.id = ANY ($5::bigint[])
  AND ($1::timestamptz IS NULL OR v.reported_at >= $1)
  AND ($2::timestamptz IS NULL OR v.reported_at < $2)
  AND ($3::text IS NULL OR inside(v.category_code, $3))
  AND ($4::text[] IS NULL OR v.status = ANY ($4));
