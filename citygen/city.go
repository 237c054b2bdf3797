package citygen

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/paulmach/orb"
)

// The plan of a city: everything but households' and events' details, which are
// drawn while streaming from per-building random streams.
type city struct {
	districts []*district
	comms     []*community // all communities, in code order
	blds      []*bldRef    // all buildings, in id order
}

type district struct {
	src        *sourceDistrict
	households int
	mg         int
	streets    []*street
	addrID     int64
}

type street struct {
	code, name  string
	d           *district
	seed        orb.Point
	weight      float64
	areaM2      float64
	mg          int
	households  int
	communities []*community
	addrID      int64
}

type community struct {
	code, name string
	s          *street
	seed       orb.Point
	weight     float64
	estAreaM2  float64
	households int
	mgHH       []int     // households per micro-grid
	mgMembers  [][]uint8 // members per household, per micro-grid
	gridSizes  []int     // micro-grids per grid

	areaM2 float64
	lat    *lattice
	grids  []*gridPlan
	addrID int64
}

type gridPlan struct {
	r    rect
	code string
	mgs  []*mgPlan
	road roadPlan
}

type mgPlan struct {
	r       rect
	code    string
	hh      int
	members []uint8
	blds    []bldPlan
}

// roadPlan is the road or compound (address level 'road') of one grid.
type roadPlan struct {
	name     string
	compound bool
	code     string
	addrID   int64
}

// bldPlan is a building: footprint (lon/lat), shape, households and ids.
type bldPlan struct {
	minX, minY, maxX, maxY float64
	hh                     int
	floors, units, perUnit int
	no                     int // number on its road or in its compound
	id, addrID, hhID       int64
	people                 int
}

func (b *bldPlan) centre() (float64, float64) { return (b.minX + b.maxX) / 2, (b.minY + b.maxY) / 2 }

// bldRef locates a building in the plan, for the event stream.
type bldRef struct {
	b         *bldPlan
	c         *community
	g         *gridPlan
	mg        *mgPlan
	idx       int64 // index in city.blds
	mgVersion int   // the micro-grid's version: 0 is 1, as generated
}

func (br *bldRef) gridVersion() int { return max(1, br.mgVersion) }

// stream returns the random stream for a purpose and a unit: independent of
// every other stream, so regenerating one table replays exactly.
func stream(seed uint64, purpose string, unit uint64) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	return rand.New(rand.NewPCG(seed, h.Sum64()^(unit*0x9e3779b97f4a7c15)))
}

// eventStream is the random stream of one event of a catch-up: keyed by the
// day, the building or hotspot and the event's number, so that what is drawn for
// one event never shifts another's draws.
func eventStream(seed uint64, purpose string, day, unit, k uint64) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	var b [24]byte
	binary.LittleEndian.PutUint64(b[0:], day)
	binary.LittleEndian.PutUint64(b[8:], unit)
	binary.LittleEndian.PutUint64(b[16:], k)
	h.Write(b[:])
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// Targets of the division, from Shenzhen's figures (DOMAIN.md) scaled down so
// that small cities still have several units at every level.
const (
	mgPerCommunity = 60  // micro-grids per community (Shenzhen: about 100)
	mgPerGrid      = 4.5 // micro-grids per grid
	minMgAreaM2    = 2500
	mgHHLo, mgHHHi = 50, 110
	mgPPLo, mgPPHi = 150, 330
)

// planDistricts chooses the districts and shares the households between them.
func planDistricts(src map[int]*sourceDistrict, n int) ([]*district, error) {
	var chosen []*district
	var caps []float64
	total := 0
	for _, di := range districtOrder {
		chosen = append(chosen, &district{src: src[di.adcode]})
		caps = append(caps, float64(di.capacity))
		total += di.capacity
		if total >= n {
			break
		}
	}
	lo := make([]int, len(chosen))
	for i, d := range chosen {
		lo[i] = mgHHLo * len(d.src.streets)
	}
	hh, err := apportion(n, caps, lo, nil)
	if err != nil {
		return nil, fmt.Errorf("share %d households between districts: %w", n, err)
	}
	for i, d := range chosen {
		d.households = hh[i]
		d.mg = max(len(d.src.streets), int(math.Round(float64(hh[i])/80)))
		for d.mg*mgHHLo > d.households {
			d.mg--
		}
		for d.mg*mgHHHi < d.households {
			d.mg++
		}
	}
	return chosen, nil
}

// planDivision places street and community seeds with density-weighted k-means
// and shares micro-grids and households among them.
func planDivision(d *district, seed uint64) error {
	r := stream(seed, "division", uint64(d.src.adcode))
	nStreets := len(d.src.streets)
	expectComms := max(1, d.mg/mgPerCommunity)
	nSamples := max(20_000, 60*(expectComms+nStreets))
	pts := samplePolygon(r, d.src.geom, nSamples)
	all := make([]int, len(pts))
	for i := range all {
		all[i] = i
	}
	dArea := areaM2(d.src.geom)
	seeds, members := kmeans(r, pts, all, nStreets)
	weights := make([]float64, nStreets)
	lo, hi := make([]int, nStreets), make([]int, nStreets)
	for i := range seeds {
		s := &street{code: d.src.streets[i].code, name: d.src.streets[i].name, d: d, seed: seeds[i]}
		for _, p := range members[i] {
			s.weight += pts[p].w
		}
		s.areaM2 = dArea * float64(len(members[i])) / float64(len(pts))
		weights[i] = s.weight
		lo[i] = 1
		hi[i] = max(1, int(s.areaM2/minMgAreaM2))
		d.streets = append(d.streets, s)
	}
	mgs, err := apportion(d.mg, weights, lo, hi)
	if err != nil {
		return fmt.Errorf("district %s: share micro-grids between streets: %w", d.src.name, err)
	}
	hhs, err := apportion(d.households, toF(mgs), scale(mgs, mgHHLo), scale(mgs, mgHHHi))
	if err != nil {
		return fmt.Errorf("district %s: share households between streets: %w", d.src.name, err)
	}
	for i, s := range d.streets {
		s.mg, s.households = mgs[i], hhs[i]
		k := int(math.Round(float64(s.mg) / mgPerCommunity))
		k = max(1, min(k, s.mg, len(members[i]), 199))
		if err := planCommunities(s, r, pts, members[i], k); err != nil {
			return err
		}
	}
	return nil
}

func planCommunities(s *street, r *rand.Rand, pts []samplePoint, members []int, k int) error {
	seeds, cm := kmeans(r, pts, members, k)
	names := pickNames(r, k, []string{"社区"})
	weights := make([]float64, k)
	lo, hi := make([]int, k), make([]int, k)
	for i := range seeds {
		c := &community{code: fmt.Sprintf("%s%03d", s.code[:9], i+1), name: names[i], s: s, seed: seeds[i]}
		for _, p := range cm[i] {
			c.weight += pts[p].w
		}
		c.estAreaM2 = s.areaM2 * float64(len(cm[i])) / float64(max(1, len(members)))
		weights[i] = c.weight
		lo[i] = 1
		hi[i] = max(1, int(c.estAreaM2/minMgAreaM2))
		s.communities = append(s.communities, c)
	}
	mgs, err := apportion(s.mg, weights, lo, hi)
	if err != nil {
		return fmt.Errorf("street %s: share micro-grids between communities: %w", s.name, err)
	}
	hhs, err := apportion(s.households, toF(mgs), scale(mgs, mgHHLo), scale(mgs, mgHHHi))
	if err != nil {
		return fmt.Errorf("street %s: share households between communities: %w", s.name, err)
	}
	for i, c := range s.communities {
		c.households = hhs[i]
		c.sizeMicroGrids(r, mgs[i])
	}
	return nil
}

// memberShares is the distribution of household size (1..6), mean about 2.8.
var memberShares = []float64{0.20, 0.26, 0.25, 0.16, 0.08, 0.05}

// sizeMicroGrids draws m micro-grids' households (50–110, summing to the
// community's) and members (150–330 people each), and groups them into grids.
func (c *community) sizeMicroGrids(r *rand.Rand, m int) {
	mean := float64(c.households) / float64(m)
	hh := make([]int, m)
	total := 0
	for i := range hh {
		v := int(math.Round(mean + (r.Float64()*2-1)*math.Min(20, math.Min(mean-55, 105-mean))))
		hh[i] = max(mgHHLo, min(mgHHHi, v))
		total += hh[i]
	}
	for total != c.households { // nudge random micro-grids within the band
		i := r.IntN(m)
		if total < c.households && hh[i] < mgHHHi {
			hh[i]++
			total++
		} else if total > c.households && hh[i] > mgHHLo {
			hh[i]--
			total--
		}
	}
	c.mgHH = hh
	c.mgMembers = make([][]uint8, m)
	for i, h := range hh {
		ms := make([]uint8, h)
		people := 0
		for k := range ms {
			ms[k] = uint8(pickShare(r, memberShares) + 1)
			people += int(ms[k])
		}
		for people < mgPPLo+5 || people > mgPPHi-5 {
			k := r.IntN(h)
			if people < mgPPLo+5 && ms[k] < 6 {
				ms[k]++
				people++
			} else if people > mgPPHi-5 && ms[k] > 1 {
				ms[k]--
				people--
			}
		}
		c.mgMembers[i] = ms
	}
	g := max(1, min(m, int(math.Round(float64(m)/mgPerGrid))))
	w := make([]float64, g)
	for i := range w {
		w[i] = 0.7 + 0.6*r.Float64()
	}
	c.gridSizes, _ = apportion(m, w, scale(make([]int, g), 0, 1), nil)
}

func pickShare(r *rand.Rand, shares []float64) int {
	t := r.Float64()
	for i, s := range shares {
		t -= s
		if t < 0 {
			return i
		}
	}
	return len(shares) - 1
}

func toF(xs []int) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// scale returns xs[i]*k (+ add[0] when given).
func scale(xs []int, k int, add ...int) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = x * k
		if len(add) > 0 {
			out[i] += add[0]
		}
	}
	return out
}
