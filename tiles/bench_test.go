package tiles_test

import (
	"context"
	"testing"

	"github.com/onegrid/onegrid/internal/testcity"
	"github.com/onegrid/onegrid/tiles"
)

// BenchmarkCacheHit is the cached path: version check (trusted for the run),
// cache lookup, no database.
func BenchmarkCacheHit(b *testing.B) {
	s, _ := openCity(b, tiles.Config{CacheBytes: 64 << 20, VersionMaxAge: 1 << 62})
	tile := at(testcity.Centre, 14)
	ctx := context.Background()
	if _, err := s.Get(ctx, "events", tile, tiles.Filter{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx, "events", tile, tiles.Filter{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCacheHitStrict is the cached path with the per-request version check.
func BenchmarkCacheHitStrict(b *testing.B) {
	s, _ := openCity(b, tiles.Config{CacheBytes: 64 << 20})
	tile := at(testcity.Centre, 14)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx, "events", tile, tiles.Filter{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRender renders each layer of the test city without the cache.
func BenchmarkRender(b *testing.B) {
	s, _ := openCity(b, tiles.Config{})
	ctx := context.Background()
	for _, tc := range []struct {
		layer string
		z     int
	}{{"admin", 10}, {"grids", 14}, {"buildings", 16}, {"addresses", 16}, {"events", 14}, {"events_h3", 10}, {"households_h3", 12}} {
		b.Run(tc.layer, func(b *testing.B) {
			tile := at(testcity.Centre, tc.z)
			for b.Loop() {
				if _, err := s.Render(ctx, tc.layer, tile, tiles.Filter{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
