package hotspot

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// dataDir returns the hotspot peer data directory: $ONEGRID_SHARED_DATA/hotspot
// if set, else the first <ancestor>/shared/data/hotspot walking up from the
// repository root (the directory holding go.mod). That is <repo>/../shared
// for the main checkout (/work/main -> /work/shared) and one level further up
// for a worktree under /work/wt/<name>. It skips the test when the data is
// absent, and fails instead when CI=true.
func dataDir(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) string {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and peer data missing: "+format, args...)
		}
		t.Skipf("skip: peer data missing (set ONEGRID_SHARED_DATA): "+format, args...)
		return ""
	}
	if env := os.Getenv("ONEGRID_SHARED_DATA"); env != "" {
		d := filepath.Join(env, "hotspot")
		if _, err := os.Stat(d); err != nil {
			return missing("ONEGRID_SHARED_DATA=%s: %v", env, err)
		}
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := ""
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			root = dir
			break
		}
		if filepath.Dir(dir) == dir {
			return missing("no go.mod above %s", wd)
		}
	}
	for dir := filepath.Dir(root); ; dir = filepath.Dir(dir) {
		d := filepath.Join(dir, "shared", "data", "hotspot")
		if _, err := os.Stat(d); err == nil {
			return d
		}
		if filepath.Dir(dir) == dir {
			return missing("no shared/data/hotspot beside or above %s", root)
		}
	}
}

// table is a CSV file read into rows keyed by column name.
type table struct {
	cols map[string]int
	rows [][]string
}

func readTable(t *testing.T, path string) *table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tb := &table{cols: map[string]int{}}
	for i, c := range recs[0] {
		tb.cols[strings.TrimSpace(c)] = i
	}
	tb.rows = recs[1:]
	return tb
}

func (tb *table) str(t *testing.T, row int, col string) string {
	t.Helper()
	c, ok := tb.cols[col]
	if !ok {
		t.Fatalf("no column %q", col)
	}
	return strings.TrimSpace(tb.rows[row][c])
}

func (tb *table) float(t *testing.T, row int, col string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(tb.str(t, row, col), 64)
	if err != nil {
		t.Fatalf("row %d col %s: %v", row, col, err)
	}
	return v
}

func (tb *table) col(t *testing.T, col string) []float64 {
	t.Helper()
	out := make([]float64, len(tb.rows))
	for i := range tb.rows {
		out[i] = tb.float(t, i, col)
	}
	return out
}

func (tb *table) int(t *testing.T, row int, col string) int {
	t.Helper()
	return int(tb.float(t, row, col))
}

// pairsFrom reads an id,neighbor table with 0-based integer ids.
func pairsFrom(t *testing.T, tb *table) [][2]int {
	t.Helper()
	p := make([][2]int, len(tb.rows))
	for i := range tb.rows {
		p[i] = [2]int{tb.int(t, i, "id"), tb.int(t, i, "neighbor")}
	}
	return p
}

func near(a, b, tol float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= tol
}
