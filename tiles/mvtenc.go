package tiles

import (
	"encoding/binary"
	"math"
	"sync"

	"github.com/paulmach/orb"
)

// prop is one feature property of an H3 layer: a string, an integer, a boolean
// or a double.
type prop struct {
	key     string
	str     string
	num     int64
	isStr   bool
	isBool  bool   // num is 0 or 1
	isFloat bool   // num holds the bits of a float64
	unique  bool   // a string no other feature of the layer has: not worth looking up
	gid     uint32 // the value's number in its snapshot's valueDict (0: none)
	kid     uint32 // the key's number there (0: none)
	raw     []byte // the string as bytes (straight off the wire), when str is unset
}

func strProp(k, v string) prop        { return prop{key: k, str: v, isStr: true} }
func uniqueProp(k, v string) prop     { return prop{key: k, str: v, isStr: true, unique: true} }
func rawProp(k string, v []byte) prop { return prop{key: k, raw: v, isStr: true} }
func numProp(k string, v int64) prop  { return prop{key: k, num: v} }
func floatProp(k string, v float64) prop {
	return prop{key: k, num: int64(math.Float64bits(v)), isFloat: true}
}
func boolProp(k string, v bool) prop {
	p := prop{key: k, isBool: true}
	if v {
		p.num = 1
	}
	return p
}

// mvtEncoder writes one MVT layer of polygons straight to protobuf. The H3 layers
// spent more CPU in orb's generic encoder (property maps sorted per feature, values
// boxed into interfaces, a protobuf object tree) than PostgreSQL spent finding
// their rows; this encoder keeps the same geometry encoding and writes integers as
// sint values and strings as string values, as orb did.
type mvtEncoder struct {
	keys   []string
	keyIdx map[string]uint32
	// keyAt[j] is the key index the j-th property of the last feature had:
	// features of a layer list their properties in much the same order, so a
	// string comparison usually replaces a map lookup.
	keyAt []uint32
	// vals holds the layer's values table, each value already a layer field;
	// strings and integers are looked up in maps of their own type (hashing a
	// whole prop cost a quarter of drawing a grids tile).
	vals   []byte
	nvals  uint32
	strIdx map[string]uint32
	numIdx map[int64]uint32
	fltIdx map[int64]uint32 // doubles, by their bits
	bools  [2]uint32        // index+1 of false and true; 0: not in the table yet
	// byGID and byKID hold the value and key index of props that carry a gid and
	// a kid, valid where their gen is the encoder's: values and keys prepared by a
	// snapshot are found by number, not hashed. A tile's gids and kids all come
	// from one snapshot, and every key and value of it that can repeat has one, so
	// none is in both these and the maps.
	byGID []gidSlot
	byKID []gidSlot
	// small holds the value index of the integers 0..len-1 (ages in days,
	// escalation levels), stamped like byGID; larger ones are in numIdx.
	small [1024]gidSlot
	gen   uint32
	feats []byte
	geom  []uint32
	pts   []tilePoint
	tags  []uint32
}

// newMVTEncoder returns an empty encoder; release gives it back for reuse (its
// maps and buffers, grown to a tile's size, are most of an encoder's garbage).
func newMVTEncoder() *mvtEncoder { return encoders.Get().(*mvtEncoder) }

var encoders = sync.Pool{New: func() any {
	return &mvtEncoder{keyIdx: map[string]uint32{}, strIdx: map[string]uint32{}, numIdx: map[int64]uint32{}, fltIdx: map[int64]uint32{}, gen: 1}
}}

type gidSlot struct{ gen, idx uint32 }

// release empties the encoder and returns it to the pool; it must not be used
// after.
func (e *mvtEncoder) release() {
	e.keys, e.keyAt = e.keys[:0], e.keyAt[:0]
	clear(e.keyIdx)
	if e.gen++; e.gen == 0 { // wrapped: forget every slot
		clear(e.byGID)
		clear(e.byKID)
		clear(e.small[:])
		e.gen = 1
	}
	e.vals, e.nvals = e.vals[:0], 0
	clear(e.strIdx)
	clear(e.numIdx)
	clear(e.fltIdx)
	e.bools = [2]uint32{}
	e.feats, e.geom, e.pts, e.tags = e.feats[:0], e.geom[:0], e.pts[:0], e.tags[:0]
	encoders.Put(e)
}

func appendKey(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field<<3|wire))
}

func appendBytesField[S string | []byte](b []byte, field int, data S) []byte {
	b = appendKey(b, field, 2)
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

// packedLen is the length of vs as packed varints.
func packedLen(vs []uint32) int {
	n := len(vs)
	for _, v := range vs {
		if v >= 0x80 {
			n += uvarintLen(uint64(v)) - 1
		}
	}
	return n
}

// appendPacked appends vs as a packed field whose payload is n bytes (packedLen).
func appendPacked(b []byte, field int, vs []uint32, n int) []byte {
	b = appendKey(b, field, 2)
	b = binary.AppendUvarint(b, uint64(n))
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

func (e *mvtEncoder) key(j int, k string) uint32 {
	if j < len(e.keyAt) {
		if i := e.keyAt[j]; e.keys[i] == k {
			return i
		}
	}
	i, ok := e.keyIdx[k]
	if !ok {
		i = uint32(len(e.keys))
		e.keys = append(e.keys, k)
		e.keyIdx[k] = i
	}
	if j < len(e.keyAt) {
		e.keyAt[j] = i
	} else if j == len(e.keyAt) {
		e.keyAt = append(e.keyAt, i)
	}
	return i
}

// slot returns the slot of id in tab, growing tab as needed.
func slot(tab *[]gidSlot, id uint32) *gidSlot {
	if int(id) >= len(*tab) {
		*tab = append(*tab, make([]gidSlot, int(id)+1-len(*tab))...)
	}
	return &(*tab)[id]
}

// keyByID returns the index of p's key, which has a kid.
func (e *mvtEncoder) keyByID(p *prop) uint32 {
	sl := slot(&e.byKID, p.kid)
	if sl.gen != e.gen {
		sl.gen, sl.idx = e.gen, uint32(len(e.keys))
		e.keys = append(e.keys, p.key)
	}
	return sl.idx
}

func (e *mvtEncoder) value(p *prop) uint32 {
	if p.gid != 0 {
		sl := slot(&e.byGID, p.gid)
		if sl.gen == e.gen {
			return sl.idx
		}
		sl.gen, sl.idx = e.gen, e.nvals
		e.appendValue(p)
		return sl.idx
	}
	if p.isBool {
		if i := e.bools[p.num]; i > 0 {
			return i - 1
		}
		e.bools[p.num] = e.nvals + 1
		e.appendValue(p)
		return e.nvals - 1
	}
	if p.isFloat {
		if i, ok := e.fltIdx[p.num]; ok {
			return i
		}
		e.fltIdx[p.num] = e.nvals
	} else if p.isStr && p.raw != nil {
		if i, ok := e.strIdx[string(p.raw)]; ok { // no allocation for the lookup
			return i
		}
		e.strIdx[string(p.raw)] = e.nvals
	} else if p.isStr {
		if !p.unique {
			if i, ok := e.strIdx[p.str]; ok {
				return i
			}
			e.strIdx[p.str] = e.nvals
		}
	} else if uint64(p.num) < uint64(len(e.small)) {
		sl := &e.small[p.num]
		if sl.gen == e.gen {
			return sl.idx
		}
		sl.gen, sl.idx = e.gen, e.nvals
	} else {
		if i, ok := e.numIdx[p.num]; ok {
			return i
		}
		e.numIdx[p.num] = e.nvals
	}
	e.appendValue(p)
	return e.nvals - 1
}

// appendStringValue appends Value{string_value (1): str} as layer field 4.
func appendStringValue[S string | []byte](b []byte, str S) []byte {
	b = appendKey(b, 4, 2)
	b = binary.AppendUvarint(b, uint64(1+uvarintLen(uint64(len(str)))+len(str)))
	b = appendKey(b, 1, 2)
	b = binary.AppendUvarint(b, uint64(len(str)))
	return append(b, str...)
}

// appendValue adds p's value to the values table as the next index.
func (e *mvtEncoder) appendValue(p *prop) {
	switch {
	case p.isBool:
		// Value{bool_value (7): p.num} as layer field 4.
		e.vals = appendKey(e.vals, 4, 2)
		e.vals = append(e.vals, 2)
		e.vals = appendKey(e.vals, 7, 0)
		e.vals = append(e.vals, byte(p.num))
	case p.isFloat:
		// Value{double_value (3): the bits, fixed64} as layer field 4.
		e.vals = appendKey(e.vals, 4, 2)
		e.vals = append(e.vals, 9)
		e.vals = appendKey(e.vals, 3, 1)
		e.vals = binary.LittleEndian.AppendUint64(e.vals, uint64(p.num))
	case p.isStr && p.raw != nil:
		e.vals = appendStringValue(e.vals, p.raw)
	case p.isStr:
		e.vals = appendStringValue(e.vals, p.str)
	default:
		// Value{sint_value (6): p.num} as layer field 4.
		z := uint64((p.num << 1) ^ (p.num >> 63))
		e.vals = appendKey(e.vals, 4, 2)
		e.vals = binary.AppendUvarint(e.vals, uint64(1+uvarintLen(z)))
		e.vals = appendKey(e.vals, 6, 0)
		e.vals = binary.AppendUvarint(e.vals, z)
	}
	e.nvals++
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// MVT geometry types.
const (
	mvtPoint   = 1
	mvtPolygon = 3
)

// polygon adds a polygon feature (rings in tile coordinates, exterior first).
func (e *mvtEncoder) polygon(id uint64, p orb.Polygon, props []prop) {
	e.geom = e.geom[:0]
	var cx, cy int32
	for _, r := range p {
		if r.Closed() {
			r = r[:len(r)-1]
		}
		e.pts = e.pts[:0]
		for _, pt := range r {
			e.pts = append(e.pts, tilePoint{int32(pt[0]), int32(pt[1])})
		}
		e.geom, cx, cy = appendRing(e.geom, e.pts, cx, cy)
	}
	e.feature(id, mvtPolygon, e.geom, props)
}

// feature adds a feature with its geometry already as MVT commands.
func (e *mvtEncoder) feature(id uint64, geomType uint64, geom []uint32, props []prop) {
	e.tags = e.tags[:0]
	for j := range props {
		p := &props[j]
		var k uint32
		if p.kid != 0 {
			k = e.keyByID(p)
		} else {
			k = e.key(j, p.key)
		}
		e.tags = append(e.tags, k, e.value(p))
	}
	// Feature{id (1), tags (2), type (3), geometry (4)} as layer field 2, sized
	// first so that it is written once, in place.
	nt, ng := packedLen(e.tags), packedLen(geom)
	n := 1 + uvarintLen(id) + 1 + uvarintLen(uint64(nt)) + nt + 1 + uvarintLen(geomType) + 1 + uvarintLen(uint64(ng)) + ng
	f := appendKey(e.feats, 2, 2)
	f = binary.AppendUvarint(f, uint64(n))
	f = appendKey(f, 1, 0)
	f = binary.AppendUvarint(f, id)
	f = appendPacked(f, 2, e.tags, nt)
	f = appendKey(f, 3, 0)
	f = binary.AppendUvarint(f, geomType)
	e.feats = appendPacked(f, 4, geom, ng)
}

// tile returns a tile holding the layer, in one allocation.
func (e *mvtEncoder) tile(name string) []byte {
	n := 2 + 1 + uvarintLen(uint64(len(name))) + len(name) + len(e.feats) + len(e.vals) + 1 + uvarintLen(Extent)
	for _, k := range e.keys {
		n += 1 + uvarintLen(uint64(len(k))) + len(k)
	}
	t := make([]byte, 0, 1+uvarintLen(uint64(n))+n)
	t = appendKey(t, 3, 2)
	t = binary.AppendUvarint(t, uint64(n))
	t = appendKey(t, 15, 0)
	t = binary.AppendUvarint(t, 2) // version
	t = appendBytesField(t, 1, name)
	t = append(t, e.feats...)
	for _, k := range e.keys {
		t = appendBytesField(t, 3, k)
	}
	t = append(t, e.vals...)
	t = appendKey(t, 5, 0)
	return binary.AppendUvarint(t, Extent)
}

// tilePoint is a point in tile units.
type tilePoint struct{ x, y int32 }

func zigzag(v int32) uint32 { return uint32((v << 1) ^ (v >> 31)) }

// appendRing appends MoveTo, LineTo and ClosePath for an open ring, the cursor
// carried over from the previous ring as MVT requires.
func appendRing(cmds []uint32, pts []tilePoint, cx, cy int32) ([]uint32, int32, int32) {
	for i, p := range pts {
		switch i {
		case 0:
			cmds = append(cmds, 1<<3|1) // MoveTo 1
		case 1:
			cmds = append(cmds, uint32(len(pts)-1)<<3|2) // LineTo n
		}
		cmds = append(cmds, zigzag(p.x-cx), zigzag(p.y-cy))
		cx, cy = p.x, p.y
	}
	return append(cmds, 1<<3|7), cx, cy // ClosePath
}

func pointGeom(x, y int32) []uint32 { return []uint32{1<<3 | 1, zigzag(x), zigzag(y)} }
