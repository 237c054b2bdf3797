package citygen_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/citygen"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/event"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/seal"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testEnd ends the test cities' events: tests never depend on the day they run.
var testEnd = time.Date(2026, 11, 1, 0, 0, 0, 0, clock.China)

func generate(t *testing.T, households int, seed uint64, truth string) (*pgxpool.Pool, citygen.Summary) {
	t.Helper()
	pool := pgtest.New(t)
	sum, err := citygen.Generate(context.Background(), pool, citygen.Options{
		Households: households, Seed: seed, Hotspots: 4, End: testEnd, TruthPath: truth,
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return pool, sum
}

// Tolerances for tiling checks, in Web Mercator m² (about 0.85 m² a ground m²
// here): PostGIS's overlay may move a cut point on a long edge by a centimetre
// or two, leaving slivers of a few m² along kilometres of boundary.
const (
	tilingRel = 2e-5 // of the parent's area
	tilingAbs = 5.0
)

// invariants are checks in SQL, independent of the generator: each query
// returns the number of violations.
var invariants = []struct{ name, sql string }{
	{"geometries valid", `SELECT (SELECT count(*) FROM admin_area WHERE NOT ST_IsValid(geom) OR ST_IsEmpty(geom))
		+ (SELECT count(*) FROM grid WHERE NOT ST_IsValid(geom) OR ST_IsEmpty(geom))
		+ (SELECT count(*) FROM building WHERE NOT ST_IsValid(geom))`},
	{"streets tile districts", tiles("admin_area", "district", "street")},
	{"communities tile streets", tiles("admin_area", "street", "community")},
	{"grids tile communities", tiles("grid", "community", "grid")},
	{"micro-grids tile grids", tiles("grid", "grid", "micro_grid")},
	{"sibling streets do not overlap", overlaps("admin_area", "street")},
	{"sibling communities do not overlap", overlaps("admin_area", "community")},
	{"sibling grids do not overlap", overlaps("grid", "grid")},
	{"sibling micro-grids do not overlap", overlaps("grid", "micro_grid")},
	{"codes nest", `SELECT count(*) FROM admin_area c JOIN admin_area p ON p.code = c.parent_code
		WHERE (c.level = 'street' AND left(c.code, 6) <> left(p.code, 6)) OR (c.level = 'community' AND left(c.code, 9) <> left(p.code, 9))
		OR length(c.code) <> 12`},
	{"grid codes extend their parent's", `SELECT count(*) FROM grid c JOIN grid p ON p.code = c.parent_code
		WHERE c.level IN ('grid', 'micro_grid') AND (NOT starts_with(c.code, p.code) OR length(c.code) <> length(p.code) + CASE c.level WHEN 'grid' THEN 3 ELSE 2 END)`},
	{"micro-grid households in band", `SELECT count(*) FROM grid g LEFT JOIN (SELECT grid_code, count(*) n, sum(members) p FROM household GROUP BY 1) h ON h.grid_code = g.code
		WHERE g.level = 'micro_grid' AND (h.n IS NULL OR h.n NOT BETWEEN 50 AND 110 OR h.p NOT BETWEEN 150 AND 330)`},
	{"household in exactly one micro-grid, its own", `SELECT count(*) FROM household h JOIN address a ON a.id = h.address_id
		WHERE (SELECT count(*) FROM grid g WHERE g.level = 'micro_grid' AND ST_Intersects(g.geom, a.geom)) <> 1
		   OR NOT EXISTS (SELECT 1 FROM grid g WHERE g.level = 'micro_grid' AND g.code = h.grid_code AND ST_Intersects(g.geom, a.geom))
		   OR h.grid_code <> a.grid_code OR a.level <> 'room'`},
	{"buildings do not overlap", `SELECT count(*) FROM building a JOIN building b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)`},
	{"building within exactly one micro-grid, its own, never cut", `SELECT count(*) FROM building b
		WHERE (SELECT count(*) FROM grid g WHERE g.level = 'micro_grid' AND ST_Intersects(g.geom, b.geom)) <> 1
		   OR NOT EXISTS (SELECT 1 FROM grid g WHERE g.level = 'micro_grid' AND g.code = b.grid_code AND ST_Within(b.geom, g.geom))`},
	{"building sizes and floors", `SELECT count(*) FROM building b, LATERAL (SELECT ST_Transform(b.geom, 32650) g) u
		WHERE b.floors NOT BETWEEN 3 AND 33 OR ST_XMax(u.g) - ST_XMin(u.g) NOT BETWEEN 14.5 AND 60.5 OR ST_YMax(u.g) - ST_YMin(u.g) NOT BETWEEN 14.5 AND 60.5`},
	{"address tree", `SELECT count(*) FROM address c LEFT JOIN address p ON p.id = c.parent_id
		WHERE (c.level = 'room' AND (p.level <> 'building' OR NOT starts_with(c.full_text, p.full_text) OR NOT starts_with(c.code, p.code)))
		   OR (c.level = 'building' AND p.level <> 'road')
		   OR (c.level IN ('road', 'building', 'room') AND (c.h3 IS NULL OR NOT starts_with(c.code, c.admin_code) OR length(c.admin_code) <> 12 OR NOT starts_with(c.grid_code, c.admin_code)))`},
	{"room text", `SELECT count(*) FROM address WHERE level = 'room' AND full_text !~ '^广东省深圳市.+区.+(街道).+社区.+(号|栋)[0-9]+单元[0-9]+室$'`},
	{"events inside the city", `SELECT count(*) FROM event e WHERE NOT EXISTS (SELECT 1 FROM admin_area d WHERE d.level = 'district' AND ST_Intersects(d.geom, e.geom))`},
	{"event grid_code is the containing micro-grid", `SELECT count(*) FROM event e
		WHERE NOT EXISTS (SELECT 1 FROM grid g WHERE g.level = 'micro_grid' AND g.code = e.grid_code AND ST_Intersects(g.geom, e.geom))
		   OR NOT starts_with(e.grid_code, e.admin_code) OR e.grid_version <> 1`},
	{"event times and statuses", `SELECT count(*) FROM event
		WHERE (status IN ('closed', 'resolved')) <> (closed_at IS NOT NULL) OR closed_at < reported_at OR deadline <= reported_at
		   OR (satisfaction IS NOT NULL AND status <> 'closed')`},
	{"personal data masked", `SELECT count(*) FROM household WHERE head_name_masked NOT LIKE '%*' OR phone_masked !~ '^1[0-9]{2}\*{4}[0-9]{4}$'
		OR length(phone_hash) <> 32 OR length(id_no_hash) <> 32 OR members NOT BETWEEN 1 AND 6`},
}

// tiles counts parents whose children's union differs from them by more than the tolerance.
func tiles(table, parent, child string) string {
	return `WITH u AS (SELECT p.code, ST_Area(p.geom_3857) AS a, ST_Area(ST_SymDifference(p.geom_3857, ST_Union(c.geom_3857))) AS d
		FROM ` + table + ` p JOIN ` + table + ` c ON c.parent_code = p.code AND c.level = '` + child + `'
		WHERE p.level = '` + parent + `' GROUP BY p.code, p.geom_3857)
	SELECT count(*) + (SELECT count(*) FROM ` + table + ` p WHERE p.level = '` + parent + `'
		AND NOT EXISTS (SELECT 1 FROM ` + table + ` c WHERE c.parent_code = p.code AND c.level = '` + child + `'))
	FROM u WHERE d > greatest(` + f(tilingAbs) + `, ` + f(tilingRel) + ` * a)`
}

// overlaps counts sibling pairs overlapping by more than the tolerance.
func overlaps(table, level string) string {
	return `SELECT count(*) FROM ` + table + ` a JOIN ` + table + ` b ON a.parent_code = b.parent_code AND a.code < b.code
		AND a.level = '` + level + `' AND b.level = '` + level + `' AND ST_Intersects(a.geom, b.geom)
	WHERE ST_Area(ST_Intersection(a.geom_3857, b.geom_3857)) > ` + f(tilingAbs)
}

func f(x float64) string {
	b, _ := json.Marshal(x)
	return string(b)
}

func TestInvariants(t *testing.T) {
	truth := filepath.Join(t.TempDir(), "truth.json")
	pool, sum := generate(t, 3000, 7, truth)
	ctx := context.Background()
	if sum.Households != 3000 {
		t.Errorf("households = %d, want 3000", sum.Households)
	}
	if sum.Rows["grid"] == 0 || sum.Rows["event"] == 0 || sum.Rows["building"] == 0 {
		t.Fatalf("rows = %v", sum.Rows)
	}
	for _, inv := range invariants {
		t.Run(inv.name, func(t *testing.T) {
			var n int64
			if err := pool.QueryRow(ctx, inv.sql).Scan(&n); err != nil {
				t.Fatalf("query: %v", err)
			}
			if n != 0 {
				t.Errorf("%d violations", n)
			}
		})
	}
	t.Run("hotspots elevated", func(t *testing.T) {
		b, err := os.ReadFile(truth)
		if err != nil {
			t.Fatal(err)
		}
		var tr citygen.Truth
		if err := json.Unmarshal(b, &tr); err != nil {
			t.Fatal(err)
		}
		if len(tr.Hotspots) != 4 {
			t.Fatalf("truth has %d hotspots, want 4", len(tr.Hotspots))
		}
		for _, h := range tr.Hotspots {
			// Rate of the hotspot's category per household-month inside the disk
			// since its start, against the same rate over the whole city and period.
			var in, city float64
			err := pool.QueryRow(ctx, `
				SELECT (SELECT count(*) FROM event WHERE category_code = $4 AND reported_at >= $5
				          AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3 + 5))::float8
				       / greatest(1, (SELECT count(*) FROM household hh JOIN address a ON a.id = hh.address_id
				          WHERE ST_DWithin(a.geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3 + 5)))
				       / extract(epoch FROM ($6::timestamptz - $5)) * 2.6e6,
				       (SELECT count(*) FROM event WHERE category_code = $4)::float8 / (SELECT count(*) FROM household)
				       / extract(epoch FROM ($6::timestamptz - $7)) * 2.6e6`,
				h.Lon, h.Lat, h.RadiusM, h.CategoryCode, h.Start, tr.PeriodEnd, tr.PeriodStart).Scan(&in, &city)
			if err != nil {
				t.Fatal(err)
			}
			if h.Events == 0 || in < 3*city {
				t.Errorf("hotspot %d (%s): %d events, rate inside %.4f, city %.4f per household-month", h.ID, h.Category, h.Events, in, city)
			}
		}
	})
	t.Run("refuses a second city", func(t *testing.T) {
		_, err := citygen.Generate(ctx, pool, citygen.Options{Households: 1000, End: testEnd})
		if !errors.Is(err, citygen.ErrExists) || !strings.Contains(err.Error(), "--replace") {
			t.Fatalf("err = %v, want ErrExists", err)
		}
	})
}

// checksums returns a digest of every generated table, ids included.
func checksums(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, q := range []struct{ table, order string }{
		{"admin_area", "code"}, {"grid", "code"}, {"address", "id"}, {"building", "id"},
		{"household", "id"}, {"event", "id"}, {"event_category", "code"},
	} {
		var s string
		// geom_3857 is derived; ST_AsEWKB pins exact coordinates.
		sql := `SELECT md5(string_agg(t::text, '|' ORDER BY ` + q.order + `)) FROM ` + q.table + ` t`
		if err := pool.QueryRow(context.Background(), sql).Scan(&s); err != nil {
			t.Fatalf("checksum %s: %v", q.table, err)
		}
		out[q.table] = s
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a, _ := generate(t, 1500, 42, "")
	b, _ := generate(t, 1500, 42, "")
	c, _ := generate(t, 1500, 43, "")
	ca, cb, cc := checksums(t, a), checksums(t, b), checksums(t, c)
	for table, s := range ca {
		if cb[table] != s {
			t.Errorf("%s differs between two runs with the same seed", table)
		}
	}
	if ca["household"] == cc["household"] {
		t.Errorf("households identical for different seeds")
	}
}

func TestReplace(t *testing.T) {
	pool, first := generate(t, 1000, 1, "")
	// The loop went on after generation (as under the demo pulse): an open
	// generated event was dispatched, and a new event filed under the city.
	ctx := context.Background()
	var open, addr int64
	var at time.Time
	var status string
	if err := pool.QueryRow(ctx, `SELECT id, status, reported_at, address_id FROM event WHERE status IN ('reported', 'dispatched', 'handling') ORDER BY id LIMIT 1`).Scan(&open, &status, &at, &addr); err != nil {
		t.Fatal(err)
	}
	move := map[string]func(context.Context, event.DB, int64, event.Step) error{"reported": event.Dispatch, "dispatched": event.Handle, "handling": event.Resolve}[status]
	if err := move(ctx, pool, open, event.Step{At: at.Add(time.Minute), Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := event.Create(ctx, pool, event.Report{Category: "010101", Source: "patrol", AddressID: addr, At: at, Dataset: citygen.Dataset}); err != nil {
		t.Fatal(err)
	}
	sum, err := citygen.Generate(context.Background(), pool, citygen.Options{Households: 1200, Seed: 1, End: testEnd, Replace: true})
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	var n int64
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM household").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1200 || sum.Households != 1200 || first.Households != 1000 {
		t.Errorf("households after replace = %d (summary %d), want 1200", n, sum.Households)
	}
	var trig string
	for _, name := range []string{"address_no_delete", "event_step_no_change"} {
		if err := pool.QueryRow(context.Background(), "SELECT tgenabled::text FROM pg_trigger WHERE tgname = $1", name).Scan(&trig); err != nil || trig != "O" {
			t.Errorf("%s trigger state %q (%v), want enabled", name, trig, err)
		}
	}
	var steps int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM event_step").Scan(&steps); err != nil || steps != 0 {
		t.Errorf("%d steps (%v) after replace, want 0: they went with the old city's events", steps, err)
	}
}

// TestPersonal: with a data key, the households of one building in four get
// clear personal values sealed with it, and each opens to values whose masks
// and hashes are the household row's; --replace replaces them too.
func TestPersonal(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	key, err := seal.NewKey([]byte("citygen test data key, 32 bytes!"))
	if err != nil {
		t.Fatal(err)
	}
	hashKey := []byte("citygen test hash key")
	o := citygen.Options{Households: 1000, Seed: 5, End: testEnd, DataKey: key, HashKey: hashKey}
	if _, err := citygen.Generate(ctx, pool, o); err != nil {
		t.Fatal(err)
	}
	o.Households, o.Replace = 1100, true
	if _, err := citygen.Generate(ctx, pool, o); err != nil {
		t.Fatalf("replace: %v", err)
	}
	var want, got int64
	// Households in a building whose id is a multiple of four: the room's parent is the building's address.
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM household h JOIN address r ON r.id = h.address_id
		JOIN building b ON b.address_id = r.parent_id WHERE b.id % 4 = 0`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM household_personal`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want || want < 100 {
		t.Fatalf("%d households with sealed values, want %d (of 1100)", got, want)
	}
	rows, err := pool.Query(ctx, `SELECT p.key_id, p.head_name, p.phone, p.id_no, h.head_name_masked, h.phone_masked, h.phone_hash,
		h.id_no_masked, h.id_no_hash FROM household_personal p JOIN household h ON h.id = p.household_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	hash := func(s string) []byte {
		m := hmac.New(sha256.New, hashKey)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	for rows.Next() {
		var keyID, nameMasked, phoneMasked, idMasked string
		var name, phone, idNo, phoneHash, idHash []byte
		if err := rows.Scan(&keyID, &name, &phone, &idNo, &nameMasked, &phoneMasked, &phoneHash, &idMasked, &idHash); err != nil {
			t.Fatal(err)
		}
		n, err1 := key.Open("head_name", name)
		p, err2 := key.Open("phone", phone)
		id, err3 := key.Open("id_no", idNo)
		if keyID != key.ID() || err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("sealed values do not open: key %s, %v %v %v", keyID, err1, err2, err3)
		}
		sur := strings.TrimSuffix(nameMasked, "*")
		if !strings.HasPrefix(n, sur) || utf8.RuneCountInString(n) < utf8.RuneCountInString(sur)+1 ||
			len(p) != 11 || p[:3]+"****"+p[7:] != phoneMasked || !bytes.Equal(hash(p), phoneHash) ||
			len(id) != 18 || id[:6]+"********"+id[14:] != idMasked || !bytes.Equal(hash(id), idHash) {
			t.Fatalf("clear values %q %q %q do not match the row's masks %q %q %q or hashes", n, p, id, nameMasked, phoneMasked, idMasked)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The foreign key is back.
	var fk int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_constraint WHERE conrelid = 'household_personal'::regclass AND contype = 'f'`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("household_personal foreign keys: %d (%v), want 1", fk, err)
	}
}
