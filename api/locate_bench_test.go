package api

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkLocateHandler measures GET /api/v1/locate through the handler (no
// network) against the generated city named by ONEGRID_BENCH_DATABASE_URL.
func BenchmarkLocateHandler(b *testing.B) {
	u := os.Getenv("ONEGRID_BENCH_DATABASE_URL")
	if u == "" {
		b.Skip("ONEGRID_BENCH_DATABASE_URL is not set: the benchmark needs a generated city")
	}
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	s := New(Config{}, pool, nil)
	i := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i++
			lon, lat := 113.90+float64(i%997)/997*0.25, 22.50+float64(i%991)/991*0.10
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest("GET", fmt.Sprintf("/api/v1/locate?lon=%.6f&lat=%.6f", lon, lat), nil))
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}
