// Command ingestgen writes large synthetic input files for the ingest benchmarks:
// events as GeoJSON or CSV points with attributes, and households as CSV.
//
//	ingestgen -kind events -n 1000000 -o /tmp/events.geojson
//	ingestgen -kind households -n 6000000 -address-ref a1 -o /tmp/households.csv
//
// Points fall uniformly in a box (default 113.9–114.1 E, 22.5–22.6 N); output is
// deterministic for a given -seed.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	var (
		kind   = flag.String("kind", "events", "events or households")
		n      = flag.Int("n", 1_000_000, "rows")
		out    = flag.String("o", "", "output file (.geojson or .csv)")
		seed   = flag.Uint64("seed", 1, "random seed")
		bbox   = flag.String("bbox", "113.9,22.5,114.1,22.6", "minLon,minLat,maxLon,maxLat")
		addrRf = flag.String("address-ref", "a1", "households: address_ref of every row")
	)
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "ingestgen: -o is required")
		os.Exit(2)
	}
	var b [4]float64
	for i, s := range strings.Split(*bbox, ",") {
		if i < 4 {
			b[i], _ = strconv.ParseFloat(s, 64)
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingestgen:", err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(*seed, 2))
	pt := func() (float64, float64) { return b[0] + r.Float64()*(b[2]-b[0]), b[1] + r.Float64()*(b[3]-b[1]) }
	switch {
	case *kind == "events" && filepath.Ext(*out) == ".geojson":
		sources := []string{"patrol", "qr", "hotline", "app", "sensor"}
		w.WriteString(`{"type": "FeatureCollection", "features": [` + "\n")
		for i := range *n {
			lon, lat := pt()
			if i > 0 {
				w.WriteString(",\n")
			}
			fmt.Fprintf(w, `{"type": "Feature", "id": "e%d", "properties": {"category": "C01", "severity": "general", "source": "%s", "status": "reported", "title": "事件 %d", "reported_at": "2023-%02d-%02dT%02d:%02d:00Z"}, "geometry": {"type": "Point", "coordinates": [%.7f, %.7f]}}`,
				i, sources[i%len(sources)], i, 1+i%12, 1+i%28, i%24, i%60, lon, lat)
		}
		w.WriteString("\n]}\n")
	case *kind == "events":
		w.WriteString("id,category,severity,source,status,title,reported_at,lon,lat\n")
		for i := range *n {
			lon, lat := pt()
			fmt.Fprintf(w, "e%d,C01,general,app,reported,事件 %d,2023-%02d-%02d %02d:%02d:00,%.7f,%.7f\n", i, i, 1+i%12, 1+i%28, i%24, i%60, lon, lat)
		}
	case *kind == "households":
		tags := []string{"", "残疾人", "留守老人", "低保", "残疾人;低保"}
		w.WriteString("id,address_ref,members,tags,phone,lon,lat\n")
		for i := range *n {
			lon, lat := pt()
			fmt.Fprintf(w, "h%d,%s,%d,%s,138%08d,%.7f,%.7f\n", i, *addrRf, 1+i%6, tags[i%len(tags)], i, lon, lat)
		}
	default:
		fmt.Fprintln(os.Stderr, "ingestgen: -kind must be events or households")
		os.Exit(2)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "ingestgen:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "ingestgen:", err)
		os.Exit(1)
	}
}
