-- Exact medians from the close-time histogram (0301): the histogram tells, per
-- group, which hour bin holds the median and its rank inside the bin; this index
-- then reads just the raw close times of that bin in that group and window
-- (about 3 % of the window's closed events), index-only, so the median is exact,
-- and exact in the overflow bins too.
CREATE INDEX event_close_hist_idx ON event (close_hist_bin(reported_at, closed_at), admin_code, reported_at)
    INCLUDE (closed_at) WHERE closed_at IS NOT NULL;
