-- The H3 aggregates are searched one resolution at a time (res = $n AND rep && box).
-- A GiST index on (res, rep) serves that poorly: res has six values, so the tree
-- splits on it badly and a dense tile spent 5 ms in the index. Partitioned by res,
-- each resolution has its own GiST on rep, and run-time pruning picks the partition
-- even in a generic (cached) plan.

ALTER TABLE tile_event_h3 RENAME TO tile_event_h3_unpartitioned;
ALTER INDEX tile_event_h3_pkey RENAME TO tile_event_h3_unpartitioned_pkey;
CREATE TABLE tile_event_h3 (
    res    smallint NOT NULL,
    cell   bigint NOT NULL,
    status text NOT NULL,
    n      integer NOT NULL,
    rep    geometry(Point, 3857),
    PRIMARY KEY (res, cell, status)
) PARTITION BY LIST (res);
CREATE TABLE tile_event_h3_r6 PARTITION OF tile_event_h3 FOR VALUES IN (6);
CREATE TABLE tile_event_h3_r7 PARTITION OF tile_event_h3 FOR VALUES IN (7);
CREATE TABLE tile_event_h3_r8 PARTITION OF tile_event_h3 FOR VALUES IN (8);
CREATE TABLE tile_event_h3_r9 PARTITION OF tile_event_h3 FOR VALUES IN (9);
CREATE TABLE tile_event_h3_r10 PARTITION OF tile_event_h3 FOR VALUES IN (10);
INSERT INTO tile_event_h3 SELECT res, cell, status, n, rep FROM tile_event_h3_unpartitioned;
DROP TABLE tile_event_h3_unpartitioned;
CREATE INDEX tile_event_h3_rep_idx ON tile_event_h3 USING gist (rep);

ALTER TABLE tile_household_h3 RENAME TO tile_household_h3_unpartitioned;
ALTER INDEX tile_household_h3_pkey RENAME TO tile_household_h3_unpartitioned_pkey;
CREATE TABLE tile_household_h3 (
    res        smallint NOT NULL,
    cell       bigint NOT NULL,
    households integer NOT NULL,
    people     integer NOT NULL,
    rep        geometry(Point, 3857),
    tag_names  text[] NOT NULL DEFAULT '{}',
    tag_counts integer[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (res, cell)
) PARTITION BY LIST (res);
CREATE TABLE tile_household_h3_r6 PARTITION OF tile_household_h3 FOR VALUES IN (6);
CREATE TABLE tile_household_h3_r7 PARTITION OF tile_household_h3 FOR VALUES IN (7);
CREATE TABLE tile_household_h3_r8 PARTITION OF tile_household_h3 FOR VALUES IN (8);
CREATE TABLE tile_household_h3_r9 PARTITION OF tile_household_h3 FOR VALUES IN (9);
CREATE TABLE tile_household_h3_r10 PARTITION OF tile_household_h3 FOR VALUES IN (10);
CREATE TABLE tile_household_h3_r11 PARTITION OF tile_household_h3 FOR VALUES IN (11);
INSERT INTO tile_household_h3
SELECT res, cell, households, people, rep, tag_names, tag_counts FROM tile_household_h3_unpartitioned;
DROP TABLE tile_household_h3_unpartitioned;
CREATE INDEX tile_household_h3_rep_idx ON tile_household_h3 USING gist (rep);
