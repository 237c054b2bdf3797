package tiles_test

import (
	"strings"

	"github.com/paulmach/orb/geojson"

	"github.com/onegrid/onegrid/internal/sdctest"
)

// releaseReference applies the disclosure-control rule (threshold and base k),
// as internal/sdctest computes it, to a reference tile whose household figures
// came raw with their key sums (hkey, tagkey_<tag>): households_h3 cells below k
// are left out and tag counts below k dropped; admin and grid units below k lose
// their households and people; every other figure is rounded. The key properties
// are removed. The service's tiles must then equal the reference.
func releaseReference(layers map[string]*geojson.FeatureCollection, k int64) map[string]*geojson.FeatureCollection {
	num := func(p geojson.Properties, key string) int64 {
		v, _ := p[key].(float64)
		return int64(v)
	}
	for name, fc := range layers {
		switch name {
		case "households_h3":
			kept := fc.Features[:0]
			for _, f := range fc.Features {
				p := f.Properties
				set := sdctest.Set{N: num(p, "households"), Keys: uint64(num(p, "hkey"))}
				hh := sdctest.Count(k, set, sdctest.Households)
				if hh == nil {
					continue
				}
				p["households"] = float64(*hh)
				p["people"] = float64(*sdctest.Sum(k, num(p, "people"), set, sdctest.People))
				delete(p, "hkey")
				for key := range p {
					tag, ok := strings.CutPrefix(key, "tag_")
					if !ok {
						continue
					}
					n := sdctest.Count(k, sdctest.Set{N: num(p, key), Keys: uint64(num(p, "tagkey_"+tag))}, sdctest.Tagged)
					if n == nil {
						delete(p, key)
					} else {
						p[key] = float64(*n)
					}
					delete(p, "tagkey_"+tag)
				}
				kept = append(kept, f)
			}
			fc.Features = kept
			if len(kept) == 0 {
				delete(layers, name) // an empty layer is not encoded
			}
		case "admin", "admin_label", "grids", "grid_label":
			for _, f := range fc.Features {
				p := f.Properties
				set := sdctest.Set{N: num(p, "households"), Keys: uint64(num(p, "hkey"))}
				if hh := sdctest.Count(k, set, sdctest.Households); hh != nil {
					p["households"] = float64(*hh)
					p["people"] = float64(*sdctest.Sum(k, num(p, "people"), set, sdctest.People))
				} else {
					delete(p, "households")
					delete(p, "people")
				}
				delete(p, "hkey")
			}
		}
	}
	return layers
}
