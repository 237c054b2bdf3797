package citygen

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/paulmach/orb"

	"github.com/onegrid/onegrid/geo"
)

// setbackM is the least distance, in metres, between a building and its plot's
// edge. Grid boundaries run along plot edges, so it is also the least distance
// between a building and any grid boundary; events are jittered by less.
const setbackM = 4.0

// lattice is a community's square grid of building plots, in lon/lat degrees
// (the local projection is linear in each axis, so a metre square is a degree
// rectangle). inside marks plots lying wholly inside the community.
type lattice struct {
	x0, y0, dx, dy float64
	nx, ny         int
	plotM          float64
	inside         []bool
}

func (l *lattice) x(i int) float64 { return l.x0 + float64(i)*l.dx }
func (l *lattice) y(j int) float64 { return l.y0 + float64(j)*l.dy }

// newLattice lays plots of side plotM metres over mp's bounding box and marks
// those wholly inside mp: a plot crossed (or nearly touched) by an edge is
// blocked, and an unblocked plot is inside when its centre is.
func newLattice(mp orb.MultiPolygon, plotM float64) *lattice {
	b := mp.Bound()
	cy := (b.Min[1] + b.Max[1]) / 2
	l := &lattice{x0: b.Min[0], y0: b.Min[1], plotM: plotM}
	l.dx = plotM / geo.MetresPerDegreeLon(cy)
	l.dy = plotM / geo.MetresPerDegreeLat(cy)
	l.nx = int(math.Ceil((b.Max[0]-b.Min[0])/l.dx)) + 1
	l.ny = int(math.Ceil((b.Max[1]-b.Min[1])/l.dy)) + 1
	blocked := make([]bool, l.nx*l.ny)
	ex, ey := 0.5/geo.MetresPerDegreeLon(cy), 0.5/geo.MetresPerDegreeLat(cy) // half-metre margin
	type edge struct{ ax, ay, bx, by float64 }
	var edges []edge
	for _, p := range mp {
		for _, r := range p {
			for k := 0; k+1 < len(r); k++ {
				edges = append(edges, edge{r[k][0], r[k][1], r[k+1][0], r[k+1][1]})
			}
		}
	}
	clampI := func(v, n int) int { return max(0, min(n-1, v)) }
	for _, e := range edges {
		xlo, xhi := math.Min(e.ax, e.bx), math.Max(e.ax, e.bx)
		i0 := clampI(int(math.Floor((xlo-ex-l.x0)/l.dx)), l.nx)
		i1 := clampI(int(math.Floor((xhi+ex-l.x0)/l.dx)), l.nx)
		for i := i0; i <= i1; i++ {
			// The part of the edge within the column (widened by the margin).
			cx0, cx1 := math.Max(xlo, l.x(i)-ex), math.Min(xhi, l.x(i+1)+ex)
			var ylo, yhi float64
			if e.bx == e.ax {
				ylo, yhi = math.Min(e.ay, e.by), math.Max(e.ay, e.by)
			} else {
				t0 := (cx0 - e.ax) / (e.bx - e.ax)
				t1 := (cx1 - e.ax) / (e.bx - e.ax)
				y0, y1 := e.ay+t0*(e.by-e.ay), e.ay+t1*(e.by-e.ay)
				ylo, yhi = math.Min(y0, y1), math.Max(y0, y1)
			}
			j0 := clampI(int(math.Floor((ylo-ey-l.y0)/l.dy)), l.ny)
			j1 := clampI(int(math.Floor((yhi+ey-l.y0)/l.dy)), l.ny)
			for j := j0; j <= j1; j++ {
				blocked[j*l.nx+i] = true
			}
		}
	}
	l.inside = make([]bool, l.nx*l.ny)
	xs := make([]float64, 0, 64)
	for j := 0; j < l.ny; j++ {
		y := l.y0 + (float64(j)+0.5)*l.dy
		xs = xs[:0]
		for _, e := range edges {
			if (e.ay > y) != (e.by > y) {
				xs = append(xs, e.ax+(y-e.ay)*(e.bx-e.ax)/(e.by-e.ay))
			}
		}
		sort.Float64s(xs)
		k := 0
		for i := 0; i < l.nx; i++ {
			x := l.x0 + (float64(i)+0.5)*l.dx
			for k < len(xs) && xs[k] < x {
				k++
			}
			l.inside[j*l.nx+i] = k%2 == 1 && !blocked[j*l.nx+i]
		}
	}
	return l
}

// rect is a lattice-aligned rectangle: columns [i0, i1), rows [j0, j1).
type rect struct{ i0, j0, i1, j1 int }

// leaf is a k-d leaf: its rectangle, its plots (lattice cell indices) and the
// weight it was cut for.
type leaf struct {
	r      rect
	plots  []int
	weight int
}

var errNoSplit = errors.New("no feasible split")

// kdSplit cuts r along lattice lines into len(weights) rectangles, each holding
// at least weights[i] plots and, as nearly as possible, a share of the plots
// proportional to its weight. Leaves come back in the order of weights.
func kdSplit(l *lattice, r rect, plots []int, weights []int) ([]leaf, error) {
	if len(weights) == 1 {
		return []leaf{{r, plots, weights[0]}}, nil
	}
	if len(plots) < sum(weights) {
		return nil, errNoSplit
	}
	W, P := sum(weights), len(plots)
	n := len(weights)
	type cand struct {
		axis, cut, k int
		score        float64
	}
	var best *cand
	for axis := 0; axis < 2; axis++ {
		lo, hi := r.i0, r.i1
		if axis == 1 {
			lo, hi = r.j0, r.j1
		}
		if hi-lo < 2 {
			continue
		}
		counts := make([]int, hi-lo)
		for _, p := range plots {
			if axis == 0 {
				counts[p%l.nx-lo]++
			} else {
				counts[p/l.nx-lo]++
			}
		}
		long := (axis == 0) == ((r.i1 - r.i0) >= (r.j1 - r.j0))
		L := 0
		for c := lo + 1; c < hi; c++ {
			L += counts[c-1-lo]
			if L == 0 || L == P {
				continue
			}
			WL := 0
			for k := 1; k < n; k++ {
				WL += weights[k-1]
				if L < WL || P-L < W-WL {
					continue
				}
				s := math.Abs(float64(L)-float64(P)*float64(WL)/float64(W))/float64(P) +
					0.3*math.Abs(float64(k)/float64(n)-0.5)
				if !long {
					s += 0.25
				}
				if best == nil || s < best.score {
					best = &cand{axis, c, k, s}
				}
			}
		}
	}
	if best == nil {
		return nil, errNoSplit
	}
	a, b := r, r
	var pa, pb []int
	for _, p := range plots {
		v := p % l.nx
		if best.axis == 1 {
			v = p / l.nx
		}
		if v < best.cut {
			pa = append(pa, p)
		} else {
			pb = append(pb, p)
		}
	}
	if best.axis == 0 {
		a.i1, b.i0 = best.cut, best.cut
	} else {
		a.j1, b.j0 = best.cut, best.cut
	}
	la, err := kdSplit(l, a, pa, weights[:best.k])
	if err != nil {
		return nil, err
	}
	lb, err := kdSplit(l, b, pb, weights[best.k:])
	if err != nil {
		return nil, err
	}
	return append(la, lb...), nil
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// sortNorthWest orders leaves north to south, then west to east (GB/T 30428
// numbering), by their rectangles' centres.
func sortNorthWest(ls []leaf) {
	sort.SliceStable(ls, func(a, b int) bool {
		ya, yb := ls[a].r.j0+ls[a].r.j1, ls[b].r.j0+ls[b].r.j1
		if ya != yb {
			return ya > yb
		}
		return ls[a].r.i0+ls[a].r.i1 < ls[b].r.i0+ls[b].r.i1
	})
}

// buildClass is the built form at a density: floors, footprint side and rooms.
type buildClass struct {
	floorsLo, floorsHi int
	sideLo, sideHi     float64 // metres
	perUnit, unitsHi   int     // rooms per floor in a unit; most units
}

var buildClasses = []buildClass{
	{3, 6, 15, 24, 2, 2},   // villages and old estates (城中村, 握手楼)
	{6, 12, 18, 32, 3, 2},  // walk-ups and mid-rise
	{10, 24, 20, 40, 4, 2}, // high-rise estates
	{18, 33, 25, 45, 4, 2}, // towers
}

// classFor picks the built form for a density in households per km².
func classFor(hhPerKm2 float64) buildClass {
	switch {
	case hhPerKm2 < 1500:
		return buildClasses[0]
	case hhPerKm2 < 5000:
		return buildClasses[1]
	case hhPerKm2 < 12000:
		return buildClasses[2]
	}
	return buildClasses[3]
}

// areaM2 is the area of mp in square metres (local equirectangular scale).
func areaM2(mp orb.MultiPolygon) float64 {
	b := mp.Bound()
	cy := (b.Min[1] + b.Max[1]) / 2
	kx, ky := geo.MetresPerDegreeLon(cy), geo.MetresPerDegreeLat(cy)
	a := 0.0
	for _, p := range mp {
		for ri, r := range p {
			s := 0.0
			for k := 0; k+1 < len(r); k++ {
				s += r[k][0]*r[k+1][1] - r[k+1][0]*r[k][1]
			}
			s = math.Abs(s) / 2
			if ri > 0 {
				s = -s
			}
			a += s
		}
	}
	return a * kx * ky
}

// layoutCommunity places c's grids, micro-grids and buildings inside geom. The
// plot side starts from the density's largest footprint plus set-backs and
// shrinks until the k-d cut finds at least one plot for every micro-grid.
func layoutCommunity(c *community, geom orb.MultiPolygon, r *rand.Rand) error {
	c.areaM2 = areaM2(geom)
	cls := classFor(float64(c.households) / (c.areaM2 / 1e6))
	plot := cls.sideHi + 2*setbackM
	// In sparse communities, coarser plots keep the lattice small.
	if free := math.Sqrt(c.areaM2 / float64(4*len(c.mgHH)*8)); free > plot {
		plot = math.Min(free, 120)
	}
	for {
		l := newLattice(geom, plot)
		var plots []int
		for k, in := range l.inside {
			if in {
				plots = append(plots, k)
			}
		}
		err := c.cut(l, plots, cls, r)
		if err == nil {
			c.lat = l
			return nil
		}
		if !errors.Is(err, errNoSplit) {
			return err
		}
		plot *= 0.85
		if plot < 15+2*setbackM {
			return fmt.Errorf("community %s: %d micro-grids do not fit in %.0f m²", c.code, len(c.mgHH), c.areaM2)
		}
	}
}

// cut splits the lattice into grids and micro-grids and places the buildings.
func (c *community) cut(l *lattice, plots []int, cls buildClass, r *rand.Rand) error {
	root := rect{0, 0, l.nx, l.ny}
	gls, err := kdSplit(l, root, plots, c.gridSizes)
	if err != nil {
		return err
	}
	sortNorthWest(gls)
	grids := make([]*gridPlan, len(gls))
	mgi := 0
	for gi, gl := range gls {
		ones := make([]int, gl.weight)
		for k := range ones {
			ones[k] = 1
		}
		mls, err := kdSplit(l, gl.r, gl.plots, ones)
		if err != nil {
			return err
		}
		sortNorthWest(mls)
		g := &gridPlan{r: gl.r, code: fmt.Sprintf("%s%03d", c.code, gi+1)}
		for mi, ml := range mls {
			m := &mgPlan{r: ml.r, code: fmt.Sprintf("%s%02d", g.code, mi+1), hh: c.mgHH[mgi], members: c.mgMembers[mgi]}
			mgi++
			placeBuildings(l, m, ml.plots, cls, r)
			g.mgs = append(g.mgs, m)
		}
		grids[gi] = g
	}
	c.grids = grids
	return nil
}

// placeBuildings puts m's households into buildings on some of its plots.
func placeBuildings(l *lattice, m *mgPlan, plots []int, cls buildClass, r *rand.Rand) {
	pm := l.plotM
	sideHi := math.Min(cls.sideHi, pm-2*setbackM)
	sideLo := math.Min(cls.sideLo, sideHi)
	meanFloors := float64(cls.floorsLo+cls.floorsHi) / 2
	meanCap := meanFloors * float64(cls.perUnit) * 1.5
	b := int(math.Ceil(float64(m.hh) / (meanCap * 0.75)))
	b = max(1, min(b, len(plots)))
	order := r.Perm(len(plots))[:b]
	sort.Ints(order) // keep lattice order: numbering then runs along rows
	cy := l.y0 + float64(l.ny)*l.dy/2
	kx, ky := geo.MetresPerDegreeLon(cy), geo.MetresPerDegreeLat(cy)
	for k, o := range order {
		p := plots[o]
		i, j := p%l.nx, p/l.nx
		hh := m.hh / b
		if k < m.hh%b {
			hh++
		}
		w := sideLo + r.Float64()*(sideHi-sideLo)
		d := sideLo + r.Float64()*(sideHi-sideLo)
		// Random position inside the plot, keeping the set-back.
		ox := setbackM + r.Float64()*(pm-2*setbackM-w)
		oy := setbackM + r.Float64()*(pm-2*setbackM-d)
		bp := bldPlan{
			minX: l.x(i) + ox/kx, maxX: l.x(i) + (ox+w)/kx,
			minY: l.y(j) + oy/ky, maxY: l.y(j) + (oy+d)/ky,
			hh:      hh,
			perUnit: cls.perUnit,
			units:   1 + r.IntN(cls.unitsHi),
			floors:  cls.floorsLo + r.IntN(cls.floorsHi-cls.floorsLo+1),
		}
		if need := (hh + bp.units*bp.perUnit - 1) / (bp.units * bp.perUnit); need > bp.floors {
			bp.floors = need
		}
		if bp.floors > 33 { // more rooms per floor rather than more floors
			bp.units, bp.perUnit = 2, 4
			bp.floors = max(cls.floorsLo, (hh+7)/8)
		}
		m.blds = append(m.blds, bp)
	}
}
