package citygen

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/geo"
)

// copyRows streams rows from produce into table with COPY. produce runs in its
// own goroutine, so generating rows (H3, hashes, text) overlaps the server's
// work; rows travel in batches to keep channel overhead negligible.
func (w *writer) copyRows(ctx context.Context, table string, cols []string, produce func(emit func([]any) error) error) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const batch = 2048
	ch := make(chan [][]any, 8)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		buf := make([][]any, 0, batch)
		emit := func(row []any) error {
			buf = append(buf, row)
			if len(buf) == batch {
				select {
				case ch <- buf:
				case <-ctx.Done():
					return ctx.Err()
				}
				buf = make([][]any, 0, batch)
			}
			return nil
		}
		err := produce(emit)
		if err == nil && len(buf) > 0 {
			select {
			case ch <- buf:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		errc <- err
	}()
	var cur [][]any
	pos := 0
	n, err := w.tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		for pos == len(cur) {
			b, ok := <-ch
			if !ok {
				return nil, nil
			}
			cur, pos = b, 0
		}
		pos++
		return cur[pos-1], nil
	}))
	cancel()
	for range ch { // let the producer finish
	}
	if perr := <-errc; perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return n, fmt.Errorf("copy %s: %w", table, err)
	}
	w.sum.Rows[table] += n
	return n, nil
}

// EWKB encoders: geometry's binary input accepts EWKB, and pgx sends []byte
// unchanged for a type it does not know.
func ewkbPoint(x, y float64) []byte {
	b := make([]byte, 25)
	b[0] = 1
	binary.LittleEndian.PutUint32(b[1:], 1|0x20000000)
	binary.LittleEndian.PutUint32(b[5:], 4326)
	binary.LittleEndian.PutUint64(b[9:], math.Float64bits(x))
	binary.LittleEndian.PutUint64(b[17:], math.Float64bits(y))
	return b
}

// ewkbRect is a rectangle as a one-polygon MultiPolygon, counter-clockwise.
func ewkbRect(x0, y0, x1, y1 float64) []byte {
	b := make([]byte, 0, 9+9+4+5*16)
	b = append(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 6|0x20000000)
	b = binary.LittleEndian.AppendUint32(b, 4326)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = append(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 3)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 5)
	for _, p := range [5][2]float64{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p[0]))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p[1]))
	}
	return b
}

func cell(x, y float64) (int64, error) {
	return geo.CellAt(x, y, geo.StorageRes)
}

// grids writes the four grid levels: streets and communities mirror the admin
// areas; grids and micro-grids are their lattice rectangles clipped by the
// community (a rectangle wholly inside it is written as is).
func (w *writer) grids(ctx context.Context) error {
	const rectTable = `CREATE TEMP TABLE cg_rect (code text COLLATE "C", level text, name text, parent_code text COLLATE "C",
		admin_code text COLLATE "C", seats int, whole bool, x0 float8, y0 float8, x1 float8, y1 float8) ON COMMIT DROP`
	if _, err := w.tx.Exec(ctx, rectTable); err != nil {
		return fmt.Errorf("rect table: %w", err)
	}
	whole := func(l *lattice, r rect) bool {
		for j := r.j0; j < r.j1; j++ {
			for i := r.i0; i < r.i1; i++ {
				if !l.inside[j*l.nx+i] {
					return false
				}
			}
		}
		return true
	}
	_, err := w.copyRows(ctx, "cg_rect", []string{"code", "level", "name", "parent_code", "admin_code", "seats", "whole", "x0", "y0", "x1", "y1"},
		func(emit func([]any) error) error {
			for _, c := range w.c.comms {
				l := c.lat
				for gi, g := range c.grids {
					if err := emit([]any{g.code, "grid", fmt.Sprintf("%s第%d网格", c.name, gi+1), c.code, c.code, 2, whole(l, g.r),
						l.x(g.r.i0), l.y(g.r.j0), l.x(g.r.i1), l.y(g.r.j1)}); err != nil {
						return err
					}
					for mi, m := range g.mgs {
						if err := emit([]any{m.code, "micro_grid", fmt.Sprintf("%s第%d网格第%d微网格", c.name, gi+1, mi+1), g.code, c.code, 1, whole(l, m.r),
							l.x(m.r.i0), l.y(m.r.j0), l.x(m.r.i1), l.y(m.r.j1)}); err != nil {
							return err
						}
					}
				}
			}
			return nil
		})
	if err != nil {
		return err
	}
	delete(w.sum.Rows, "cg_rect")
	tag, err := w.tx.Exec(ctx, `
INSERT INTO grid (code, version, level, name, parent_code, admin_code, staff_seats, geom, valid_from, dataset)
SELECT a.code, 1, a.level, a.name, CASE WHEN a.level = 'community' THEN a.parent_code END, a.code,
       CASE WHEN a.level = 'street' THEN 20 ELSE 6 END, a.geom, $1::timestamptz, $2
FROM admin_area a WHERE a.dataset = $2 AND a.level IN ('street', 'community')
UNION ALL
SELECT r.code, 1, r.level, r.name, r.parent_code, r.admin_code, r.seats,
       CASE WHEN r.whole THEN ST_Multi(ST_MakeEnvelope(r.x0, r.y0, r.x1, r.y1, 4326))
            ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Intersection(a.geom, ST_MakeEnvelope(r.x0, r.y0, r.x1, r.y1, 4326))), 3)) END,
       $1::timestamptz, $2
FROM cg_rect r JOIN admin_area a ON a.code = r.admin_code`, w.o.Start(), Dataset)
	if err != nil {
		return err
	}
	w.sum.Rows["grid"] += tag.RowsAffected()
	return nil
}

var addressCols = []string{"id", "parent_id", "level", "full_text", "components", "code", "admin_code", "grid_code", "geom", "h3", "valid_from", "dataset", "dataset_id"}

// jsonObject renders string pairs as a JSON object; values are generated text
// without quotes or control characters, so strconv.Quote is exact JSON.
func jsonObject(kv ...string) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.Quote(kv[i]))
		sb.WriteByte(':')
		sb.WriteString(strconv.Quote(kv[i+1]))
	}
	sb.WriteByte('}')
	return sb.String()
}

const province, cityName = "广东省", "深圳市"

// roomSlot is a household's room: unit, floor and room on the floor (1-based).
type roomSlot struct{ unit, floor, room int }

// roomSlots picks b.hh distinct rooms of the building, in address order.
func roomSlots(r interface{ IntN(int) int }, b *bldPlan) []roomSlot {
	total := b.floors * b.units * b.perUnit
	pick := make([]bool, total)
	// Floyd's sampling of b.hh distinct slots.
	for j := total - b.hh; j < total; j++ {
		t := r.IntN(j + 1)
		if pick[t] {
			t = j
		}
		pick[t] = true
	}
	out := make([]roomSlot, 0, b.hh)
	for k, ok := range pick {
		if !ok {
			continue
		}
		u := k / (b.floors * b.perUnit)
		rest := k % (b.floors * b.perUnit)
		out = append(out, roomSlot{unit: u + 1, floor: rest/b.perUnit + 1, room: rest%b.perUnit + 1})
	}
	return out
}

// roomPoint spreads units along the building's longer side.
func roomPoint(b *bldPlan, unit int) (float64, float64) {
	cx, cy := b.centre()
	f := (float64(unit) - 0.5) / float64(b.units)
	if b.maxX-b.minX >= b.maxY-b.minY {
		return b.minX + f*(b.maxX-b.minX), cy
	}
	return cx, b.minY + f*(b.maxY-b.minY)
}

// unitCells returns each unit's point and H3 cell (index unit-1): every room of
// a unit shares its point (roomPoint), so one H3 call per unit serves all the
// unit's rooms and households instead of one per row. buf is reused.
func unitCells(b *bldPlan, buf []unitCell) ([]unitCell, error) {
	buf = buf[:0]
	for u := 1; u <= b.units; u++ {
		x, y := roomPoint(b, u)
		h, err := cell(x, y)
		if err != nil {
			return nil, err
		}
		buf = append(buf, unitCell{x, y, h})
	}
	return buf, nil
}

type unitCell struct {
	x, y float64
	h3   int64
}

func buildingText(c *community, g *gridPlan, b *bldPlan) (local, full string) {
	if g.road.compound {
		local = g.road.name + strconv.Itoa(b.no) + "栋"
	} else {
		local = g.road.name + strconv.Itoa(b.no) + "号"
	}
	return local, province + cityName + c.s.d.src.name + c.s.name + c.name + local
}

func (w *writer) addresses(ctx context.Context) error {
	from := w.o.Start()
	_, err := w.copyRows(ctx, "address", addressCols, func(emit func([]any) error) error {
		var units []unitCell
		for _, d := range w.c.districts {
			dn := d.src.name
			if err := emit([]any{d.addrID, nil, "district", province + cityName + dn, jsonObject("province", province, "city", cityName, "district", dn),
				d.src.code, d.src.code, nil, nil, nil, from, Dataset, d.src.code}); err != nil {
				return err
			}
			for _, s := range d.streets {
				if err := emit([]any{s.addrID, d.addrID, "street", province + cityName + dn + s.name,
					jsonObject("province", province, "city", cityName, "district", dn, "street", s.name),
					s.code, s.code, nil, nil, nil, from, Dataset, s.code}); err != nil {
					return err
				}
				for _, c := range s.communities {
					if err := emit([]any{c.addrID, s.addrID, "community", province + cityName + dn + s.name + c.name,
						jsonObject("province", province, "city", cityName, "district", dn, "street", s.name, "community", c.name),
						c.code, c.code, nil, nil, nil, from, Dataset, c.code}); err != nil {
						return err
					}
				}
			}
		}
		for ci, c := range w.c.comms {
			prefix := province + cityName + c.s.d.src.name + c.s.name + c.name
			for _, g := range c.grids {
				first := &g.mgs[0].blds[0]
				x, y := first.centre()
				h, err := cell(x, y)
				if err != nil {
					return err
				}
				roadKey := "road"
				if g.road.compound {
					roadKey = "compound"
				}
				if err := emit([]any{g.road.addrID, c.addrID, "road", prefix + g.road.name,
					jsonObject("province", province, "city", cityName, "district", c.s.d.src.name, "street", c.s.name, "community", c.name, roadKey, g.road.name),
					g.road.code, c.code, g.mgs[0].code, ewkbPoint(x, y), h, from, Dataset, g.road.code}); err != nil {
					return err
				}
			}
			for _, g := range c.grids {
				roadKey, numKey := "road", "number"
				if g.road.compound {
					roadKey, numKey = "compound", "building"
				}
				for _, m := range g.mgs {
					for k := range m.blds {
						b := &m.blds[k]
						local, full := buildingText(c, g, b)
						bcode := g.road.code + fmt.Sprintf("%04d", b.no)
						x, y := b.centre()
						h, err := cell(x, y)
						if err != nil {
							return err
						}
						comp := []string{"province", province, "city", cityName, "district", c.s.d.src.name, "street", c.s.name, "community", c.name, roadKey, g.road.name, numKey, strconv.Itoa(b.no)}
						if err := emit([]any{b.addrID, g.road.addrID, "building", full, jsonObject(comp...),
							bcode, c.code, m.code, ewkbPoint(x, y), h, from, Dataset, bcode}); err != nil {
							return err
						}
						_ = local
						r := stream(w.o.Seed, "rooms", uint64(b.id))
						if units, err = unitCells(b, units); err != nil {
							return err
						}
						for k, sl := range roomSlots(r, b) {
							roomNo := strconv.Itoa(sl.floor*100 + sl.room)
							if sl.room >= 100 {
								roomNo = strconv.Itoa(sl.floor*1000 + sl.room)
							}
							rcode := bcode + fmt.Sprintf("%02d%02d%02d", sl.unit, sl.floor, sl.room)
							uc := units[sl.unit-1]
							text := full + strconv.Itoa(sl.unit) + "单元" + roomNo + "室"
							rc := append(comp[:len(comp):len(comp)], "unit", strconv.Itoa(sl.unit), "room", roomNo)
							if err := emit([]any{b.addrID + 1 + int64(k), b.addrID, "room", text, jsonObject(rc...),
								rcode, c.code, m.code, ewkbPoint(uc.x, uc.y), uc.h3, from, Dataset, rcode}); err != nil {
								return err
							}
						}
					}
				}
			}
			_ = ci
		}
		return nil
	})
	return err
}

var buildingCols = []string{"id", "address_id", "name", "floors", "use", "geom", "h3", "admin_code", "grid_code", "dataset", "dataset_id"}

func (w *writer) buildings(ctx context.Context) error {
	_, err := w.copyRows(ctx, "building", buildingCols, func(emit func([]any) error) error {
		for _, br := range w.c.blds {
			b := br.b
			local, _ := buildingText(br.c, br.g, b)
			x, y := b.centre()
			h, err := cell(x, y)
			if err != nil {
				return err
			}
			code := br.g.road.code + fmt.Sprintf("%04d", b.no)
			if err := emit([]any{b.id, b.addrID, local, b.floors, "residential", ewkbRect(b.minX, b.minY, b.maxX, b.maxY), h,
				br.c.code, br.mg.code, Dataset, code}); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

var householdCols = []string{"id", "address_id", "members", "tags", "head_name_masked", "phone_masked", "phone_hash", "id_no_masked", "id_no_hash", "h3", "admin_code", "grid_code", "dataset", "dataset_id"}

func (w *writer) households(ctx context.Context) error {
	var people int64
	mac := hmac.New(sha256.New, w.o.HashKey)
	hash := func(s string) []byte {
		mac.Reset()
		mac.Write([]byte(s))
		return mac.Sum(nil)
	}
	_, err := w.copyRows(ctx, "household", householdCols, func(emit func([]any) error) error {
		var prevMG *mgPlan
		var units []unitCell
		off := 0
		for _, br := range w.c.blds {
			b := br.b
			if br.mg != prevMG {
				prevMG, off = br.mg, 0
			}
			members := br.mg.members[off : off+b.hh]
			off += b.hh
			bcode := br.g.road.code + fmt.Sprintf("%04d", b.no)
			slots := roomSlots(stream(w.o.Seed, "rooms", uint64(b.id)), b)
			r := stream(w.o.Seed, "households", uint64(b.id))
			var names *rand.Rand // the clear names, when the building's values are sealed
			if w.o.DataKey != nil && sealsPersonal(b.id) {
				names = stream(w.o.Seed, "names", uint64(b.id))
			}
			var err error
			if units, err = unitCells(b, units); err != nil {
				return err
			}
			for k, sl := range slots {
				h := units[sl.unit-1].h3
				n := int(members[k])
				people += int64(n)
				tags := []string{}
				for _, t := range householdTags {
					if t.name == "独居老人" && n != 1 {
						continue
					}
					share := t.share
					if t.name == "独居老人" {
						share = t.share / memberShares[0] // so the overall share stays t.share
					}
					if r.Float64() < share {
						tags = append(tags, t.name)
					}
				}
				sur := surnames[min(len(surnames)-1, int(r.ExpFloat64()*18))]
				phone := phonePrefixes[r.IntN(len(phonePrefixes))] + fmt.Sprintf("%08d", r.IntN(100_000_000))
				idNo := fmt.Sprintf("%s%04d%02d%02d%03d%d", br.c.code[:6], 1940+r.IntN(66), 1+r.IntN(12), 1+r.IntN(28), r.IntN(1000), r.IntN(10))
				rcode := bcode + fmt.Sprintf("%02d%02d%02d", sl.unit, sl.floor, sl.room)
				if names != nil {
					w.clear = append(w.clear, clearValues{b.hhID + int64(k), sur + givenName(names), phone, idNo})
				}
				if err := emit([]any{b.hhID + int64(k), b.addrID + 1 + int64(k), n, tags,
					sur + "*", phone[:3] + "****" + phone[7:], hash(phone), idNo[:6] + "********" + idNo[14:], hash(idNo),
					h, br.c.code, br.mg.code, Dataset, rcode}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	w.sum.People = people
	w.sum.Households = w.sum.Rows["household"]
	return err
}
