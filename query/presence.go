package query

import (
	"context"
	"fmt"
	"strconv"
	"sync"
)

// Which groups an aggregate lists does not depend on what it counts (package
// sdc): a group is listed because it has households, its base population. An
// event aggregate (and tagged_people from the roll-ups) therefore reads, besides
// its own figures, the groups with households of its grouping (presenceSQL).
// That set changes only when households, grids or admin units do, so it is kept
// in memory per scope and grouping, with the versions of the tile layers that
// those writes bump in the writing transaction (tile_layer_version: admin,
// grids, households_h3); a request reads the versions (one short query) and
// reads the set again only when they moved. The set depends on the scope (the
// database narrows the roll-ups to the jurisdiction), so the scope is part of
// the key.

// presenceVersionSQL is the version of the data the groups with households are
// read from.
const presenceVersionSQL = `SELECT coalesce(string_agg(layer || ':' || version, ',' ORDER BY layer), '')
FROM tile_layer_version WHERE layer IN ('admin', 'grids', 'households_h3')`

// presenceEntries bounds the cache: a set is at most the groups of one grouping
// (12,500 micro-grids for a 1,000,000-household city, under 1 MB).
const presenceEntries = 256

// presenceCache holds the groups with households per scope and grouping.
type presenceCache struct {
	mu      sync.Mutex
	entries map[string]*presenceSet
	order   []string // insertion order, for eviction
}

// presenceSet is the groups with households (key → name) as of version.
type presenceSet struct {
	version string
	groups  map[string]*string
}

func newPresenceCache() *presenceCache {
	return &presenceCache{entries: map[string]*presenceSet{}}
}

func (c *presenceCache) get(key, version string) *presenceSet {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && e.version == version {
		return e
	}
	return nil
}

func (c *presenceCache) put(key string, e *presenceSet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok {
		c.order = append(c.order, key)
		for len(c.order) > presenceEntries {
			delete(c.entries, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.entries[key] = e
}

// presence marks the groups that have households as based (creating them).
// Uploaded polygons are always listed and need no such read.
func (s *Store) presence(ctx context.Context, a *Aggregate, get func(string) *counts) error {
	if a.GroupBy == "polygons" {
		return nil
	}
	var version string
	if err := s.db.QueryRow(ctx, presenceVersionSQL).Scan(&version); err != nil {
		return fmt.Errorf("groups with households: %w", err)
	}
	key := s.sc.Key() + "|" + a.GroupBy + "|" + strconv.Itoa(a.H3Res)
	set := s.presenceCache.get(key, version)
	if set == nil {
		set = &presenceSet{version: version, groups: map[string]*string{}}
		if err := s.scanGroups(ctx, presenceSQL(a), nil, func(k string, name *string, v []any) {
			if v[0].(int64) > 0 {
				set.groups[k] = name
			}
		}, new(int64)); err != nil {
			return err
		}
		s.presenceCache.put(key, set)
	}
	for k, name := range set.groups {
		c := get(k)
		c.name, c.based = name, true
	}
	return nil
}
