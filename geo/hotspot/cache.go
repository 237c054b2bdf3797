package hotspot

import (
	"fmt"
	"sync"
)

// CacheKey identifies a built Weights: a caller-chosen key for the study area
// (e.g. "district:440304" or a hash of the cell set), the H3 resolution and
// the k-ring radius. The cache trusts the caller that one area key always
// names the same set of cells at a resolution.
type CacheKey struct {
	Area string
	Res  int
	K    int
}

// WeightsCache keeps up to a fixed number of built Weights, evicting the
// least recently used. It is safe for concurrent use, and concurrent requests
// for a key that is being built wait for that one build instead of starting
// their own. Failed builds are not cached.
type WeightsCache struct {
	mu      sync.Mutex
	max     int
	tick    uint64
	entries map[CacheKey]*cacheEntry
}

type cacheEntry struct {
	ready   chan struct{} // closed when w/err are set
	w       *Weights
	err     error
	lastUse uint64
}

// NewWeightsCache returns a cache holding at most maxEntries Weights
// (at least 1).
func NewWeightsCache(maxEntries int) *WeightsCache {
	return &WeightsCache{max: max(1, maxEntries), entries: make(map[CacheKey]*cacheEntry)}
}

// Get returns the Weights for key, calling build to make them on a miss.
func (c *WeightsCache) Get(key CacheKey, build func() (*Weights, error)) (*Weights, error) {
	c.mu.Lock()
	c.tick++
	if e, ok := c.entries[key]; ok {
		e.lastUse = c.tick
		c.mu.Unlock()
		<-e.ready
		return e.w, e.err
	}
	e := &cacheEntry{ready: make(chan struct{}), lastUse: c.tick}
	c.entries[key] = e
	c.evictLocked()
	c.mu.Unlock()

	w, err := build()
	if err == nil && w == nil {
		err = fmt.Errorf("hotspot: weights cache: build for %+v returned nil", key)
	}
	e.w, e.err = w, err
	close(e.ready)
	if err != nil {
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
	}
	return w, err
}

// Len returns the number of cached (or in-flight) entries.
func (c *WeightsCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// evictLocked drops least recently used entries until the cache fits.
func (c *WeightsCache) evictLocked() {
	for len(c.entries) > c.max {
		var oldest CacheKey
		var min uint64 = ^uint64(0)
		for k, e := range c.entries {
			if e.lastUse < min {
				oldest, min = k, e.lastUse
			}
		}
		delete(c.entries, oldest)
	}
}
