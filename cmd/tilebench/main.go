// Command tilebench measures a running onegrid tile server: for each zoom and layer
// it requests a fixed, seeded sample of the tiles covering the data's bounds from a
// number of concurrent connections for a while, and reports tiles/s, p50, p99 and
// the largest tile (uncompressed). Run the server with --tile-cache-mb 0 to measure
// rendering, or warm it and keep the cache to measure cache hits. The server
// answers only identified callers: -token (or ONEGRID_TOKEN) is an API token
// (`onegrid users token`) sent with every request, and the tiles are measured
// as its user's scope sees them (the sample covers that scope's bounds).
//
//	tilebench -url http://localhost:8080 -token ogt_… -conns 2,16 -minzoom 8 -maxzoom 16 -duration 3s
//
// With -list it prints the sampled tile paths instead, one per line, for wrk and
// scripts/tiles.lua: a load generator in C takes less of the cores it shares with
// the server and the database than this one.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/paulmach/orb"

	"github.com/onegrid/onegrid/geo"
)

type tileJSON struct {
	Bounds       [4]float64 `json:"bounds"`
	VectorLayers []struct {
		ID      string `json:"id"`
		MinZoom int    `json:"minzoom"`
		MaxZoom int    `json:"maxzoom"`
	} `json:"vector_layers"`
}

func main() {
	base := flag.String("url", "http://localhost:8080", "tile server base URL")
	conns := flag.String("conns", "2,16", "comma-separated concurrency levels")
	minZ := flag.Int("minzoom", 8, "lowest zoom")
	maxZ := flag.Int("maxzoom", 16, "highest zoom")
	perZoom := flag.Int("tiles", 200, "tiles sampled per zoom (fewer if fewer cover the bounds)")
	dur := flag.Duration("duration", 3*time.Second, "how long to run each zoom, layer and concurrency")
	layerList := flag.String("layers", "", "comma-separated layers (default: every layer at the zooms it has data)")
	query := flag.String("query", "", "query string added to every tile URL (event filters)")
	seed := flag.Uint64("seed", 1, "seed of the tile sample")
	list := flag.Bool("list", false, "print the sampled tile paths (for wrk -s scripts/tiles.lua) and exit")
	flag.StringVar(&token, "token", os.Getenv("ONEGRID_TOKEN"), "API token sent as Authorization: Bearer (default $ONEGRID_TOKEN)")
	flag.StringVar(&boundsFlag, "bounds", "", "west,south,east,north to sample instead of tiles.json's bounds (the same tiles for callers of different scopes)")
	flag.Parse()
	if err := run(*base, *conns, *minZ, *maxZ, *perZoom, *dur, *layerList, *query, *seed, *list); err != nil {
		fmt.Fprintln(os.Stderr, "tilebench:", err)
		os.Exit(1)
	}
}

// token is the API token sent with every request ("" for none); boundsFlag
// overrides the bounds the sample covers.
var token, boundsFlag string

// get makes a GET request carrying the token.
func get(ctx context.Context, u string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

func run(base, connList string, minZ, maxZ, perZoom int, dur time.Duration, layerList, query string, seed uint64, list bool) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}, Timeout: 30 * time.Second}
	resp, err := client.Do(get(context.Background(), base+"/tiles.json"))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("tiles.json: status %d (an API token? -token or ONEGRID_TOKEN)", resp.StatusCode)
	}
	var tj tileJSON
	err = json.NewDecoder(resp.Body).Decode(&tj)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("tiles.json: %w", err)
	}
	if boundsFlag != "" {
		var b [4]float64
		if _, err := fmt.Sscanf(boundsFlag, "%g,%g,%g,%g", &b[0], &b[1], &b[2], &b[3]); err != nil {
			return fmt.Errorf("-bounds: want west,south,east,north: %w", err)
		}
		tj.Bounds = b
	}
	bound := orb.Bound{Min: orb.Point{tj.Bounds[0], tj.Bounds[1]}, Max: orb.Point{tj.Bounds[2], tj.Bounds[3]}}
	var want []string
	if layerList != "" {
		want = strings.Split(layerList, ",")
	}
	var levels []int
	for _, c := range strings.Split(connList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("-conns: bad level %q", c)
		}
		levels = append(levels, n)
	}
	if list {
		for z := minZ; z <= maxZ; z++ {
			for _, vl := range tj.VectorLayers {
				if strings.HasSuffix(vl.ID, "_label") || z < vl.MinZoom || z > vl.MaxZoom || (want != nil && !slices.Contains(want, vl.ID)) {
					continue
				}
				for _, t := range sample(bound, z, perZoom, seed) {
					p := fmt.Sprintf("/tiles/%s/%d/%d/%d.pbf", vl.ID, t.Z, t.X, t.Y)
					if query != "" {
						p += "?" + query
					}
					fmt.Println(p)
				}
			}
		}
		return nil
	}
	fmt.Printf("bounds %v, %d tiles per zoom, %s per run, query %q\n", tj.Bounds, perZoom, dur, query)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "zoom\tlayer\tconns\ttiles\ttiles/s\tp50 ms\tp99 ms\tmax ms\tmax KB\tmean KB\terrors\t")
	for z := minZ; z <= maxZ; z++ {
		tiles := sample(bound, z, perZoom, seed)
		for _, vl := range tj.VectorLayers {
			if strings.HasSuffix(vl.ID, "_label") || z < vl.MinZoom || z > vl.MaxZoom || (want != nil && !slices.Contains(want, vl.ID)) {
				continue
			}
			urls := make([]string, len(tiles))
			for i, t := range tiles {
				urls[i] = fmt.Sprintf("%s/tiles/%s/%d/%d/%d.pbf", base, vl.ID, t.Z, t.X, t.Y)
				if query != "" {
					urls[i] += "?" + query
				}
			}
			maxB, meanB, err := sizes(client, urls)
			if err != nil {
				return err
			}
			for _, c := range levels {
				r := load(client, urls, c, dur)
				fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t%d\t\n", z, vl.ID, c, r.n,
					float64(r.n)/r.elapsed.Seconds(), ms(r.pct(50)), ms(r.pct(99)), ms(r.pct(100)), float64(maxB)/1024, meanB/1024, r.errors)
				tw.Flush()
			}
		}
	}
	return tw.Flush()
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// sample returns up to n tiles at zoom z covering bound, the same for the same seed.
func sample(bound orb.Bound, z, n int, seed uint64) []geo.Tile {
	r, ok := geo.TileRangeCovering(bound, z)
	if !ok {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, uint64(z)))
	if r.Count() <= n {
		return geo.TilesCovering(bound, z)
	}
	seen := map[geo.Tile]bool{}
	var out []geo.Tile
	for len(out) < n {
		t := geo.Tile{Z: z, X: r.MinX + rng.IntN(r.MaxX-r.MinX+1), Y: r.MinY + rng.IntN(r.MaxY-r.MinY+1)}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// sizes fetches every tile once (gzip accepted) and returns the largest and mean
// uncompressed size.
func sizes(client *http.Client, urls []string) (maxB int, meanB float64, err error) {
	total := 0
	for _, u := range urls {
		b, status, err := fetch(client, context.Background(), u, true)
		if err != nil {
			return 0, 0, err
		}
		if status != 200 {
			return 0, 0, fmt.Errorf("%s: status %d: %s", u, status, b)
		}
		maxB = max(maxB, len(b))
		total += len(b)
	}
	return maxB, float64(total) / float64(max(len(urls), 1)), nil
}

func fetch(client *http.Client, ctx context.Context, u string, decompress bool) ([]byte, int, error) {
	req := get(ctx, u)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	if decompress && resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, 0, err
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, 0, err
		}
	}
	return b, resp.StatusCode, nil
}

type result struct {
	n, errors int
	elapsed   time.Duration
	lat       []time.Duration
}

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat)-1) * p / 100)
	return r.lat[i]
}

// load requests urls round-robin from c connections for dur.
func load(client *http.Client, urls []string, c int, dur time.Duration) result {
	var next atomic.Int64
	var mu sync.Mutex
	var res result
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			for time.Now().Before(deadline) {
				u := urls[int(next.Add(1)-1)%len(urls)]
				t0 := time.Now()
				_, status, err := fetch(client, context.Background(), u, false)
				if err != nil || status != 200 {
					errs++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.n = len(res.lat)
	slices.Sort(res.lat)
	return res
}
