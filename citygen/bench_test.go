package citygen_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/onegrid/onegrid/citygen"
	"github.com/onegrid/onegrid/internal/pgtest"
)

// BenchmarkGenerate builds a whole city end to end (plan, admin areas, grids,
// addresses, buildings, households, 12 months of events, H3 and index rebuild)
// into a fresh database per iteration. Select a size with
// -bench 'Generate/households=1000000'.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("households=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				pool := pgtest.New(b)
				b.StartTimer()
				sum, err := citygen.Generate(context.Background(), pool, citygen.Options{Households: n, Seed: 1, Hotspots: 5, End: testEnd})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(sum.Rows["address"]+sum.Rows["household"]+sum.Rows["event"]+sum.Rows["building"]), "rows/op")
				b.StopTimer()
				pool.Close()
				b.StartTimer()
			}
		})
	}
}
