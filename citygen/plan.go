package citygen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/paulmach/orb"
)

// densityCentre is a peak of the population density model: weight a at the
// centre, decaying exponentially with distance (half weight at lambdaKm·ln 2).
type densityCentre struct {
	lon, lat float64 // WGS-84
	a        float64
	lambdaKm float64
}

// densityCentres are Shenzhen's real centres of population, roughly.
var densityCentres = []densityCentre{
	{114.057, 22.540, 1.0, 3.0}, // 福田 CBD
	{114.118, 22.548, 0.9, 2.5}, // 罗湖 东门
	{113.945, 22.535, 0.8, 3.0}, // 南山 科技园
	{113.885, 22.560, 0.7, 3.5}, // 宝安 中心
	{114.030, 22.655, 0.7, 3.5}, // 龙华 民治
	{114.120, 22.605, 0.7, 2.5}, // 布吉
	{114.250, 22.720, 0.6, 3.5}, // 龙岗 中心城
	{113.830, 22.735, 0.5, 3.0}, // 沙井
	{113.930, 22.765, 0.4, 3.0}, // 光明
	{114.345, 22.695, 0.4, 3.0}, // 坪山
}

// density is the relative population density at a point: a floor of 0.25 plus
// the centres' exponential peaks, so the densest spots are about five times the
// sparsest.
func density(lon, lat float64) float64 {
	d := 0.25
	for _, c := range densityCentres {
		dx := (lon - c.lon) * 102.8 // km per degree of longitude at 22.6°N
		dy := (lat - c.lat) * 110.8
		d += c.a * math.Exp(-math.Hypot(dx, dy)/c.lambdaKm)
	}
	return d
}

// pointInMultiPolygon is the even-odd rule over every ring.
func pointInMultiPolygon(mp orb.MultiPolygon, x, y float64) bool {
	in := false
	for _, p := range mp {
		for _, r := range p {
			n := len(r)
			for i, j := 0, n-1; i < n; j, i = i, i+1 {
				xi, yi, xj, yj := r[i][0], r[i][1], r[j][0], r[j][1]
				if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
					in = !in
				}
			}
		}
	}
	return in
}

// samplePoint is a uniform random point of a district with its density.
type samplePoint struct {
	x, y, w float64
}

// samplePolygon draws n uniform points inside mp by rejection.
func samplePolygon(r *rand.Rand, mp orb.MultiPolygon, n int) []samplePoint {
	b := mp.Bound()
	out := make([]samplePoint, 0, n)
	for len(out) < n {
		x := b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0])
		y := b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])
		if pointInMultiPolygon(mp, x, y) {
			out = append(out, samplePoint{x, y, density(x, y)})
		}
	}
	return out
}

// kmeans clusters pts (indices into all) into k weighted clusters in lon/lat
// space, the same plane PostGIS's Voronoi diagram uses, so a point's nearest
// seed is the Voronoi cell it falls in. It returns the seeds and, per seed, the
// member indices. Every cluster is non-empty when len(pts) >= k.
func kmeans(r *rand.Rand, all []samplePoint, pts []int, k int) ([]orb.Point, [][]int) {
	seeds := make([]orb.Point, 0, k)
	// k-means++ initialisation, weighted by density.
	d2 := make([]float64, len(pts))
	for i := range d2 {
		d2[i] = math.Inf(1)
	}
	first := pts[r.IntN(len(pts))]
	seeds = append(seeds, orb.Point{all[first].x, all[first].y})
	for len(seeds) < k {
		last := seeds[len(seeds)-1]
		sum := 0.0
		for i, p := range pts {
			q := all[p]
			if d := sq(q.x-last[0]) + sq(q.y-last[1]); d < d2[i] {
				d2[i] = d
			}
			sum += d2[i] * q.w
		}
		t := r.Float64() * sum
		pick := pts[len(pts)-1]
		for i, p := range pts {
			t -= d2[i] * all[p].w
			if t <= 0 {
				pick = p
				break
			}
		}
		seeds = append(seeds, orb.Point{all[pick].x, all[pick].y})
	}
	assign := make([]int, len(pts))
	for iter := 0; iter < 12; iter++ {
		for i, p := range pts {
			assign[i] = nearest(seeds, all[p].x, all[p].y)
		}
		sx, sy, sw := make([]float64, k), make([]float64, k), make([]float64, k)
		for i, p := range pts {
			c := assign[i]
			sx[c] += all[p].x * all[p].w
			sy[c] += all[p].y * all[p].w
			sw[c] += all[p].w
		}
		for c := range seeds {
			if sw[c] > 0 {
				seeds[c] = orb.Point{sx[c] / sw[c], sy[c] / sw[c]}
			} else { // empty cluster: restart it at a random member point
				p := pts[r.IntN(len(pts))]
				seeds[c] = orb.Point{all[p].x + 1e-7*float64(c), all[p].y}
			}
		}
	}
	members := make([][]int, k)
	for _, p := range pts {
		c := nearest(seeds, all[p].x, all[p].y)
		members[c] = append(members[c], p)
	}
	return seeds, members
}

func nearest(seeds []orb.Point, x, y float64) int {
	best, bd := 0, math.Inf(1)
	for c, s := range seeds {
		if d := sq(s[0]-x) + sq(s[1]-y); d < bd {
			best, bd = c, d
		}
	}
	return best
}

func sq(x float64) float64 { return x * x }

// apportion splits total into len(weights) integers proportional to weights
// (largest remainder), each at least lo[i] and at most hi[i] (hi 0 = no cap).
// It fails when the bounds cannot be met.
func apportion(total int, weights []float64, lo, hi []int) ([]int, error) {
	n := len(weights)
	out := make([]int, n)
	rest := total
	for i := range out {
		out[i] = lo[i]
		rest -= lo[i]
	}
	if rest < 0 {
		return nil, fmt.Errorf("apportion %d over %d parts: minimums need %d", total, n, total-rest)
	}
	// Water-filling: parts at their cap drop out and the rest is shared again.
	capped := make([]bool, n)
	for rest > 0 {
		sw := 0.0
		for i, w := range weights {
			if !capped[i] {
				sw += w
			}
		}
		if sw == 0 {
			return nil, fmt.Errorf("apportion %d over %d parts: caps leave %d unplaced", total, n, rest)
		}
		type rem struct {
			i int
			f float64
		}
		var rems []rem
		given := 0
		add := make([]int, n)
		for i, w := range weights {
			if capped[i] {
				continue
			}
			share := float64(rest) * w / sw
			add[i] = int(share)
			given += add[i]
			rems = append(rems, rem{i, share - float64(add[i])})
		}
		sort.SliceStable(rems, func(a, b int) bool { return rems[a].f > rems[b].f })
		for j := 0; given < rest && j < len(rems); j++ {
			add[rems[j].i]++
			given++
		}
		rest = 0
		progress := false
		for i := range out {
			if capped[i] {
				continue
			}
			out[i] += add[i]
			if hi != nil && hi[i] > 0 && out[i] >= hi[i] {
				rest += out[i] - hi[i]
				out[i] = hi[i]
				capped[i] = true
			}
			if add[i] > 0 {
				progress = true
			}
		}
		if !progress && rest > 0 {
			return nil, fmt.Errorf("apportion %d over %d parts: no progress", total, n)
		}
	}
	return out, nil
}
