package tiles_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/onegrid/onegrid/internal/testcity"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// BenchmarkCacheHit is the cached path: version check (trusted for the run),
// cache lookup, no database.
func BenchmarkCacheHit(b *testing.B) {
	s, _ := openCity(b, tiles.Config{CacheBytes: 64 << 20, VersionMaxAge: 1 << 62})
	tile := at(testcity.Centre, 14)
	ctx := context.Background()
	if _, err := s.Get(ctx, scope.System(), "events", tile, tiles.Filter{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx, scope.System(), "events", tile, tiles.Filter{}); err != nil {
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
			if _, err := s.Get(ctx, scope.System(), "events", tile, tiles.Filter{}); err != nil {
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
				if _, err := s.Render(ctx, scope.System(), tc.layer, tile, tiles.Filter{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// openGeneratedCity opens an uncached service on the generated city (onegrid gen
// --households 1000000) named by ONEGRID_TILEBENCH_DATABASE_URL, and skips
// without one: the benchmarks and the comparisons with PostGIS on a real-sized city.
func openGeneratedCity(tb testing.TB) *tiles.Service {
	tb.Helper()
	url := os.Getenv("ONEGRID_TILEBENCH_DATABASE_URL")
	if url == "" {
		tb.Skip("set ONEGRID_TILEBENCH_DATABASE_URL to a database with a generated city")
	}
	s, err := tiles.Open(context.Background(), url, tiles.Config{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// BenchmarkRenderCity renders dense tiles of the generated city (openGeneratedCity).
func BenchmarkRenderCity(b *testing.B) {
	s := openGeneratedCity(b)
	ctx := context.Background()
	centre := [2]float64{114.0577, 22.5431} // central Futian, the densest part of the generated city
	for _, tc := range []struct {
		layer string
		z     int
	}{
		{"admin", 8}, {"events_h3", 8}, {"households_h3", 8},
		{"events_h3", 10}, {"households_h3", 10},
		{"grids", 12}, {"events_h3", 12}, {"households_h3", 12},
		{"events_h3", 13}, {"households_h3", 13},
		{"grids", 14}, {"buildings", 14}, {"events_h3", 14},
		{"events", 15}, {"buildings", 16}, {"addresses", 16}, {"events", 16},
	} {
		b.Run(fmt.Sprintf("%s/z%d", tc.layer, tc.z), func(b *testing.B) {
			tile := at(centre, tc.z)
			var n int
			for b.Loop() {
				raw, err := s.Render(ctx, scope.System(), tc.layer, tile, tiles.Filter{})
				if err != nil {
					b.Fatal(err)
				}
				n = len(raw)
			}
			b.ReportMetric(float64(n)/1024, "KB")
		})
	}
}

// BenchmarkDrawH3City draws the densest H3 tiles of the generated city from the
// in-memory aggregates, without the version check (openGeneratedCity).
func BenchmarkDrawH3City(b *testing.B) {
	s := openGeneratedCity(b)
	ctx := context.Background()
	centre := [2]float64{114.0577, 22.5431}
	for _, tc := range []struct {
		layer string
		z     int
	}{{"households_h3", 10}, {"households_h3", 12}, {"events_h3", 10}, {"households_h3", 16}} {
		b.Run(fmt.Sprintf("%s/z%d", tc.layer, tc.z), func(b *testing.B) {
			tile := at(centre, tc.z)
			raw, err := s.DrawH3(ctx, tc.layer, tile) // loads the aggregate
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(raw))/1024, "KB")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.DrawH3(ctx, tc.layer, tile); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEventIndexCity draws filtered events_h3 tiles of the generated city
// from the event index (openGeneratedCity), with the per-request version check;
// "MB" is the index's memory.
func BenchmarkEventIndexCity(b *testing.B) {
	s := openGeneratedCity(b)
	ctx := context.Background()
	centre := [2]float64{114.0577, 22.5431}
	for _, tc := range []struct{ name, query string }{
		{"category", "category=02"},
		{"window", "from=2026-10-02T03:00:00Z&to=2026-11-01T03:00:00Z"},
		{"both", "from=2026-10-02T03:00:00Z&to=2026-11-01T03:00:00Z&category=0201&status=reported,dispatched,handling"},
	} {
		f, err := tiles.ParseFilter(query(tc.query))
		if err != nil {
			b.Fatal(err)
		}
		for _, z := range []int{8, 10, 12} {
			b.Run(fmt.Sprintf("%s/z%d", tc.name, z), func(b *testing.B) {
				tile := at(centre, z)
				raw, err := s.Render(ctx, scope.System(), "events_h3", tile, f) // loads the index
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := s.Render(ctx, scope.System(), "events_h3", tile, f); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(raw))/1024, "KB")
				b.ReportMetric(float64(s.EventIndexBytes())/(1<<20), "MB")
			})
		}
	}
}

// openGeneratedCityApp opens an uncached service on the generated city as the
// application role (ONEGRID_TILEBENCH_APP_DATABASE_URL, e.g. the embedded
// database's onegrid_serve), under row-level security as serve runs it; it
// skips without one.
func openGeneratedCityApp(tb testing.TB) *tiles.Service {
	tb.Helper()
	url := os.Getenv("ONEGRID_TILEBENCH_APP_DATABASE_URL")
	if url == "" {
		tb.Skip("set ONEGRID_TILEBENCH_APP_DATABASE_URL to the application role's URL of a database with a generated city")
	}
	s, err := tiles.Open(context.Background(), url, tiles.Config{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// benchScopes are the callers the scoped benchmarks draw for: the whole city
// (the whole-city snapshots), a district and a street of the generated city
// (views of their own).
var benchScopes = []struct {
	name string
	sc   scope.Scope
}{
	{"city", scope.Scope{UserID: 1, User: "bench", Units: []string{""}, Caps: []string{scope.CanRows, scope.CanAggregates}}},
	{"district", scope.Scope{UserID: 1, User: "bench", Units: []string{"440304"}, Caps: []string{scope.CanRows, scope.CanAggregates}}},
	{"street", scope.Scope{UserID: 1, User: "bench", Units: []string{"440304004"}, Caps: []string{scope.CanRows, scope.CanAggregates}}},
}

// BenchmarkScopedViewCity reads a jurisdiction's view of the generated city
// whole (outlines, households_h3, the event index and its counts: every
// in-memory layer once, from a fresh service) and reports what it holds.
func BenchmarkScopedViewCity(b *testing.B) {
	ctx := context.Background()
	centre := [2]float64{114.0577, 22.5431}
	for _, bs := range benchScopes[1:] {
		b.Run(bs.name, func(b *testing.B) {
			var bytes int64
			for b.Loop() {
				b.StopTimer()
				s := openGeneratedCityApp(b)
				b.StartTimer()
				for _, layer := range []string{"admin", "grids", "buildings", "households_h3", "events_h3"} {
					z := max(14, tiles.LayerMinZoom(layer))
					if layer == "events_h3" {
						z = 10
					}
					if _, err := s.Render(ctx, bs.sc, layer, at(centre, z), tiles.Filter{}); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := s.Render(ctx, bs.sc, "events_h3", at(centre, 10), tiles.Filter{Category: "01"}); err != nil {
					b.Fatal(err)
				}
				bytes = s.ViewStats().Bytes
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(bytes)/(1<<20), "MB")
		})
	}
}

// BenchmarkScopedRenderCity renders dense tiles of the generated city as each
// of benchScopes sees them, from warm snapshots (the render alone: compare the
// city's with BenchmarkRenderCity's, which reads as the owner).
func BenchmarkScopedRenderCity(b *testing.B) {
	s := openGeneratedCityApp(b)
	ctx := context.Background()
	centre := [2]float64{114.0577, 22.5431}
	for _, bs := range benchScopes {
		for _, tc := range []struct {
			layer string
			z     int
		}{
			{"admin", 8}, {"events_h3", 8}, {"households_h3", 8}, {"households_h3", 10},
			{"grids", 12}, {"events_h3", 12}, {"households_h3", 13}, {"buildings", 14},
			{"events_h3", 14}, {"events", 15}, {"addresses", 16}, {"events", 16},
		} {
			b.Run(fmt.Sprintf("%s/%s/z%d", bs.name, tc.layer, tc.z), func(b *testing.B) {
				tile := at(centre, tc.z)
				var n int
				for b.Loop() {
					raw, err := s.Render(ctx, bs.sc, tc.layer, tile, tiles.Filter{})
					if err != nil {
						b.Fatal(err)
					}
					n = len(raw)
				}
				b.ReportMetric(float64(n)/1024, "KB")
			})
		}
	}
}
