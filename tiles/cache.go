package tiles

import (
	"container/list"
	"sync"
)

// cached is a rendered tile as the cache keeps it: gzipped once.
type cached struct {
	key  string
	gz   []byte // gzip of the tile; nil for an empty tile
	size int    // length of the uncompressed tile
	etag string
}

// cost is what an entry counts against the byte bound (data plus bookkeeping).
func (c *cached) cost() int64 { return int64(len(c.gz) + len(c.key) + len(c.etag) + 128) }

// cache is an LRU of rendered tiles bounded by their total size in bytes.
type cache struct {
	mu    sync.Mutex
	max   int64
	used  int64
	ll    *list.List // front = most recently used
	items map[string]*list.Element

	hits, misses, evictions uint64
}

func newCache(maxBytes int64) *cache {
	return &cache{max: maxBytes, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *cache) get(key string) (*cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		c.hits++
		return e.Value.(*cached), true
	}
	c.misses++
	return nil, false
}

func (c *cache) add(v *cached) {
	if c.max <= 0 || v.cost() > c.max/4 {
		return // caching off, or one tile would crowd out the rest
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[v.key]; ok {
		c.used -= e.Value.(*cached).cost()
		e.Value = v
		c.used += v.cost()
		c.ll.MoveToFront(e)
	} else {
		c.items[v.key] = c.ll.PushFront(v)
		c.used += v.cost()
	}
	for c.used > c.max {
		e := c.ll.Back()
		old := e.Value.(*cached)
		c.ll.Remove(e)
		delete(c.items, old.key)
		c.used -= old.cost()
		c.evictions++
	}
}

// CacheStats describes the tile cache.
type CacheStats struct {
	Entries   int    `json:"entries"`
	Bytes     int64  `json:"bytes"`
	MaxBytes  int64  `json:"max_bytes"`
	Hits      uint64 `json:"hits"`
	Misses    uint64 `json:"misses"`
	Evictions uint64 `json:"evictions"`
}

func (c *cache) stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Entries: len(c.items), Bytes: c.used, MaxBytes: c.max, Hits: c.hits, Misses: c.misses, Evictions: c.evictions}
}
