-- Search addresses by their full text and aliases with pg_trgm.
--   $1 query text, $2 the same as a LIKE pattern ('%' || escaped || '%'), $3 limit
-- A row matches when the query is a substring, or when its trigrams are similar
-- enough (word_similarity: the query against the best-matching stretch of the
-- text, threshold pg_trgm.word_similarity_threshold, 0.6 by default). Both tests
-- use the GIN trigram indexes. Rank: substring matches first, then by word
-- similarity, then by whole-text similarity, then the shorter text, then id.
WITH hits AS (
    SELECT a.id, a.full_text AS matched, false AS alias
    FROM address a
    WHERE a.full_text LIKE $2 OR $1 <% a.full_text
    UNION ALL
    SELECT al.address_id, al.alias, true
    FROM address_alias al
    WHERE al.alias LIKE $2 OR $1 <% al.alias
),
ranked AS (
    SELECT DISTINCT ON (h.id) h.id, h.matched, h.alias,
           (h.matched LIKE $2) AS substring,
           word_similarity($1, h.matched) AS word_score,
           similarity($1, h.matched) AS score
    FROM hits h
    ORDER BY h.id, (h.matched LIKE $2) DESC, word_similarity($1, h.matched) DESC, similarity($1, h.matched) DESC
)
SELECT a.id, a.level, a.full_text, a.code, a.admin_code, a.grid_code, ST_X(a.geom), ST_Y(a.geom), a.status,
       r.matched, r.alias, round((CASE WHEN r.substring THEN 1 ELSE 0 END + r.word_score)::numeric / 2, 4)::float8 AS rank
FROM ranked r JOIN address a ON a.id = r.id
ORDER BY r.substring DESC, r.word_score DESC, r.score DESC, length(r.matched), a.id
LIMIT $3
