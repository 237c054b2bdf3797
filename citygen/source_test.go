package citygen

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onegrid/onegrid/internal/shareddata"
)

// TestEmbeddedSource: the city's inputs are in the binary; every district the
// density model fills has its outline and streets, with the gazetteer's special
// zones and renumbered duplicates left out (see the package doc).
func TestEmbeddedSource(t *testing.T) {
	src, err := loadSource(sourceData)
	if err != nil {
		t.Fatal(err)
	}
	if len(src) != len(districtOrder) {
		t.Errorf("%d districts, want %d", len(src), len(districtOrder))
	}
	streets := 0
	for _, d := range districtOrder {
		sd := src[d.adcode]
		if sd == nil || len(sd.geom) == 0 || len(sd.streets) == 0 {
			t.Fatalf("district %d: %+v", d.adcode, sd)
		}
		for _, s := range sd.streets {
			if !strings.HasPrefix(s.code, sd.code[:6]) || s.code[6:9] >= "400" || !strings.HasSuffix(s.name, "街道") {
				t.Errorf("district %s: street %s %s", sd.name, s.code, s.name)
			}
		}
		streets += len(sd.streets)
	}
	// 77 street rows in the extract, less the two special zones (福田保税区,
	// 宝安国际机场) and the second codes of 龙岗's renumbered 大鹏 and 南澳.
	if streets != 73 {
		t.Errorf("%d streets, want 73", streets)
	}
	for _, f := range []string{"data/LICENSE-AreaCity-MIT.txt", "data/README.md"} {
		b, err := sourceData.ReadFile(f)
		if err != nil || len(b) == 0 {
			t.Errorf("%s not embedded: %v", f, err)
		}
	}
}

// TestEmbeddedSourceIsTheSharedData holds the shipped files to their sources in
// the shared data directory: the outlines unchanged, and the gazetteer extract
// exactly the Shenzhen rows of the full file (header, province, city, districts
// and their streets), byte for byte and in order.
func TestEmbeddedSourceIsTheSharedData(t *testing.T) {
	dir := shareddata.Dir(t)
	for _, f := range []struct{ shipped, shared string }{
		{districtsFile, "boundaries/shenzhen_districts_gcj02.geojson"},
		{"data/LICENSE-AreaCity-MIT.txt", "boundaries/LICENSE-AreaCity-MIT.txt"},
	} {
		a, _ := sourceData.ReadFile(f.shipped)
		b, err := os.ReadFile(filepath.Join(dir, f.shared))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s", f.shipped, f.shared)
		}
	}
	full, err := os.Open(filepath.Join(dir, "boundaries/admin_gazetteer_level4.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	var want []string
	sc := bufio.NewScanner(full)
	for n := 0; sc.Scan(); n++ {
		line := sc.Text()
		f := strings.SplitN(line, ",", 4)
		if n == 0 || f[0] == "44" || f[0] == "4403" || f[1] == "4403" || (f[2] == "3" && strings.HasPrefix(f[1], "4403")) {
			want = append(want, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	b, _ := sourceData.ReadFile(gazetteerFile)
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("the shipped gazetteer has %d lines, the Shenzhen rows of the full file are %d (or differ)", len(got), len(want))
	}
}
