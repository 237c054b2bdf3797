-- Names of current grids for aggregates: group_by micro_grid joins ~12,500 group
-- keys to their names; with (code) INCLUDE (name) the join reads this small index
-- (about a tenth of the grid heap, whose rows carry two geometries) instead of
-- scanning the table.
CREATE INDEX grid_current_name_idx ON grid (code) INCLUDE (name) WHERE valid_to IS NULL;
