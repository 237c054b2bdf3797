package citygen

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/onegrid/onegrid/schema"
)

func TestApportion(t *testing.T) {
	tests := []struct {
		name    string
		total   int
		weights []float64
		lo, hi  []int
		want    []int
		wantErr bool
	}{
		{"proportional", 10, []float64{1, 1, 2}, []int{0, 0, 0}, nil, []int{3, 2, 5}, false},
		{"minimums first", 5, []float64{0, 0, 1}, []int{1, 1, 1}, nil, []int{1, 1, 3}, false},
		{"caps spill over", 10, []float64{8, 1, 1}, []int{0, 0, 0}, []int{4, 0, 0}, []int{4, 3, 3}, false},
		{"minimums too large", 2, []float64{1, 1, 1}, []int{1, 1, 1}, nil, nil, true},
		{"caps too small", 10, []float64{1, 1}, []int{0, 0}, []int{2, 2}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := apportion(tt.total, tt.weights, tt.lo, tt.hi)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if sum(got) != tt.total {
				t.Errorf("sum = %d, want %d", sum(got), tt.total)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
					break
				}
			}
		})
	}
}

// A k-d split of an L-shaped community keeps every plot in exactly one leaf, the
// leaves inside their parent, and each leaf's plots at least its weight.
func TestKDSplit(t *testing.T) {
	shape := orb.MultiPolygon{{{{114, 22.5}, {114.02, 22.5}, {114.02, 22.51}, {114.01, 22.51}, {114.01, 22.52}, {114, 22.52}, {114, 22.5}}}}
	lat := newLattice(shape, 40)
	var plots []int
	for k, in := range lat.inside {
		if in {
			plots = append(plots, k)
		}
	}
	if len(plots) < 100 {
		t.Fatalf("only %d plots inside", len(plots))
	}
	for _, weights := range [][]int{{1}, {1, 1}, {3, 4, 5}, {1, 1, 1, 1, 1, 1, 1}, {2, 9, 1, 4}} {
		leaves, err := kdSplit(lat, rect{0, 0, lat.nx, lat.ny}, plots, weights)
		if err != nil {
			t.Fatalf("weights %v: %v", weights, err)
		}
		seen := map[int]bool{}
		for i, lf := range leaves {
			if lf.weight != weights[i] || len(lf.plots) < lf.weight {
				t.Errorf("weights %v: leaf %d has weight %d and %d plots", weights, i, lf.weight, len(lf.plots))
			}
			for _, p := range lf.plots {
				i, j := p%lat.nx, p/lat.nx
				if seen[p] || i < lf.r.i0 || i >= lf.r.i1 || j < lf.r.j0 || j >= lf.r.j1 {
					t.Errorf("weights %v: plot %d repeated or outside its leaf", weights, p)
				}
				seen[p] = true
			}
		}
		if len(seen) != len(plots) {
			t.Errorf("weights %v: %d of %d plots in leaves", weights, len(seen), len(plots))
		}
	}
	// Plots lie wholly inside: all four corners inside the shape.
	for _, p := range plots {
		i, j := p%lat.nx, p/lat.nx
		for _, c := range [][2]float64{{lat.x(i), lat.y(j)}, {lat.x(i + 1), lat.y(j)}, {lat.x(i), lat.y(j + 1)}, {lat.x(i + 1), lat.y(j + 1)}} {
			if !pointInMultiPolygon(shape, c[0], c[1]) {
				t.Fatalf("plot %d corner %v outside", p, c)
			}
		}
	}
}

func TestTaxonomy(t *testing.T) {
	cats := Categories()
	n := map[int]int{}
	codes := map[string]bool{}
	w := 0.0
	for _, c := range cats {
		n[c.Level]++
		if codes[c.Code] {
			t.Errorf("duplicate code %s", c.Code)
		}
		codes[c.Code] = true
		if c.Level > 1 && (!codes[c.ParentCode] || !strings.HasPrefix(c.Code, c.ParentCode)) {
			t.Errorf("%s: parent %s missing or not a prefix", c.Code, c.ParentCode)
		}
		if c.Name == "" || c.NameEn == "" || c.TimeLimitHours <= 0 {
			t.Errorf("%s: incomplete", c.Code)
		}
		w += c.Weight
	}
	if n[1] < 14 || n[1] > 17 || n[2] < 55 || n[2] > 70 || n[3] < 180 || n[3] > 220 {
		t.Errorf("levels = %v, want 15 / 60 / about 200", n)
	}
	if w <= 0 {
		t.Error("no weights")
	}
	for _, h := range hotspotCategories {
		if !codes[h] {
			t.Errorf("hotspot category %s not in the taxonomy", h)
		}
	}
}

// TestSensitiveCategories: the classes whose events concern a person's
// health, welfare or a police matter are marked sensitive (so are their level-2
// categories when all their classes are), nothing else is, and migration 0760
// marks the same names in a database an earlier run filled.
func TestSensitiveCategories(t *testing.T) {
	want := map[string]bool{"涉赌线索": true, "涉毒线索": true, "涉毒涉赌": true, "独居老人关怀": true, "困境儿童": true,
		"精神障碍患者": true, "特殊人群": true, "低保申请": true, "临时救助": true, "残疾人帮扶": true, "社会救助": true, "疑似病例报告": true}
	var migration string
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if strings.HasPrefix(m.Name, "0760_") {
			migration = m.SQL
		}
	}
	for _, c := range Categories() {
		if c.Sensitive != want[c.Name] {
			t.Errorf("%s %s: sensitive %v", c.Code, c.Name, c.Sensitive)
		}
		if c.Sensitive && !strings.Contains(migration, "'"+c.Name+"'") {
			t.Errorf("%s %s: sensitive, but migration 0760 does not mark it", c.Code, c.Name)
		}
	}
	for _, h := range hotspotCategories {
		for _, c := range Categories() {
			if c.Code == h && c.Sensitive {
				t.Errorf("planted hotspot category %s is sensitive", h)
			}
		}
	}
}

func TestSizeMicroGridsBands(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ hh, m int }{{50, 1}, {110, 1}, {5000, 60}, {5500, 50}, {2600, 52}} {
		c := &community{households: tc.hh}
		c.sizeMicroGrids(r, tc.m)
		if sum(c.mgHH) != tc.hh || sum(c.gridSizes) != tc.m {
			t.Errorf("%+v: households %d, grid sizes %v", tc, sum(c.mgHH), c.gridSizes)
		}
		for i, h := range c.mgHH {
			p := 0
			for _, m := range c.mgMembers[i] {
				p += int(m)
			}
			if h < mgHHLo || h > mgHHHi || p < mgPPLo || p > mgPPHi {
				t.Errorf("%+v: micro-grid %d has %d households, %d people", tc, i, h, p)
			}
		}
	}
}

func FuzzParseGazetteer(f *testing.F) {
	f.Add("\ufeffid,pid,deep,name,pinyin_prefix,pinyin,ext_id,ext_name\n440304001,440304,3,\"南园\",\"n\",\"nan yuan\",\"440304001000\",\"南园街道\"\n")
	f.Add("id,pid,deep,ext_id,ext_name\n1,440304,3,440304400000,保税区\n")
	f.Fuzz(func(t *testing.T, s string) {
		ds := map[int]*sourceDistrict{440304: {adcode: 440304}}
		if err := parseGazetteer(strings.NewReader(s), ds); err != nil {
			return
		}
		for _, st := range ds[440304].streets {
			if len(st.code) != 12 || st.name == "" || st.code[6:9] >= "400" {
				t.Fatalf("bad street %+v", st)
			}
		}
	})
}
