package citygen

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/onegrid/onegrid/geo"
)

// The real inputs ship in the repository and in the binary, each with its source
// and licence in data/README.md: the district outlines and the Shenzhen rows of the
// street gazetteer (with the gazetteer's MIT licence, which must travel with it).
//
//go:embed data/shenzhen_districts_gcj02.geojson data/admin_gazetteer_level4_shenzhen.csv data/LICENSE-AreaCity-MIT.txt data/README.md
var sourceData embed.FS

// Paths of the real data inside sourceData.
const (
	districtsFile = "data/shenzhen_districts_gcj02.geojson"
	gazetteerFile = "data/admin_gazetteer_level4_shenzhen.csv"
)

// districtInfo is the density model's view of a real district: the order in
// which districts are filled and a capacity close to the real household count
// (2020 census population / about 2.8).
type districtInfo struct {
	adcode   int
	capacity int
}

// districtOrder lists Shenzhen's districts densest first.
var districtOrder = []districtInfo{
	{440304, 550_000},   // 福田
	{440303, 420_000},   // 罗湖
	{440305, 650_000},   // 南山
	{440309, 900_000},   // 龙华
	{440306, 1_600_000}, // 宝安
	{440307, 1_450_000}, // 龙岗
	{440311, 400_000},   // 光明
	{440310, 200_000},   // 坪山
	{440308, 80_000},    // 盐田
}

// Capacity is the household count at which the generator fills every district at
// its real density; larger cities are built denser.
func Capacity() int {
	n := 0
	for _, d := range districtOrder {
		n += d.capacity
	}
	return n
}

// sourceDistrict is a real district outline with its real streets.
type sourceDistrict struct {
	adcode  int
	code    string // 12 digits
	name    string
	geom    orb.MultiPolygon // WGS-84
	streets []sourceStreet
}

type sourceStreet struct {
	code string // 12 digits
	name string
}

// loadSource reads the district outlines and the street gazetteer from fsys
// (sourceData, or the same paths elsewhere in tests).
func loadSource(fsys fs.FS) (map[int]*sourceDistrict, error) {
	b, err := fs.ReadFile(fsys, districtsFile)
	if err != nil {
		return nil, err
	}
	ds, err := parseDistricts(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", districtsFile, err)
	}
	f, err := fsys.Open(gazetteerFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := parseGazetteer(f, ds); err != nil {
		return nil, fmt.Errorf("read %s: %w", gazetteerFile, err)
	}
	for _, d := range districtOrder {
		sd, ok := ds[d.adcode]
		if !ok {
			return nil, fmt.Errorf("read %s: district %d missing", districtsFile, d.adcode)
		}
		if len(sd.streets) == 0 {
			return nil, fmt.Errorf("read %s: no streets for district %d", gazetteerFile, d.adcode)
		}
	}
	return ds, nil
}

// parseDistricts reads the GeoJSON outlines, skipping features without an adcode
// (the city border), and converts them from GCJ-02 to WGS-84.
func parseDistricts(b []byte) (map[int]*sourceDistrict, error) {
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		return nil, err
	}
	out := map[int]*sourceDistrict{}
	for _, f := range fc.Features {
		ad, ok := f.Properties["adcode"].(float64)
		name, _ := f.Properties["name"].(string)
		if !ok || name == "" || f.Properties["level"] != "district" {
			continue
		}
		var mp orb.MultiPolygon
		switch g := geo.GCJ02ToWGS84Geometry(f.Geometry).(type) {
		case orb.Polygon:
			mp = orb.MultiPolygon{g}
		case orb.MultiPolygon:
			mp = g
		default:
			return nil, fmt.Errorf("district %s: geometry %s, want a polygon", name, f.Geometry.GeoJSONType())
		}
		out[int(ad)] = &sourceDistrict{adcode: int(ad), code: fmt.Sprintf("%d000000", int(ad)), name: name, geom: mp}
	}
	return out, nil
}

// parseGazetteer adds to ds the street-level rows (deep = 3) under each district.
func parseGazetteer(r io.Reader, ds map[int]*sourceDistrict) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	cr := csv.NewReader(bytes.NewReader(b))
	head, err := cr.Read()
	if err != nil {
		return err
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	for _, k := range []string{"id", "pid", "deep", "ext_id", "ext_name"} {
		if _, ok := col[k]; !ok {
			return fmt.Errorf("column %q missing", k)
		}
	}
	seen := map[string]bool{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if rec[col["deep"]] != "3" {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(rec[col["pid"]], &pid); err != nil {
			continue
		}
		d, ok := ds[pid]
		if !ok {
			continue
		}
		code, name := rec[col["ext_id"]], rec[col["ext_name"]]
		if len(code) != 12 || name == "" || code[6:9] >= "400" || seen[name] {
			continue // special zones and renumbered duplicates: see the package doc
		}
		seen[name] = true
		d.streets = append(d.streets, sourceStreet{code: code, name: name})
	}
	for _, d := range ds {
		sort.Slice(d.streets, func(i, j int) bool { return d.streets[i].code < d.streets[j].code })
	}
	return nil
}
