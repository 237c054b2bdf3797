package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/seal"
)

// TestLoadHouseholdsSealed: with a data key a households load keeps the clear
// personal values sealed in household_personal (and nowhere else in clear),
// once per household.
func TestLoadHouseholdsSealed(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	key, err := seal.NewKey([]byte("ingest test data key of 32 bytes"))
	if err != nil {
		t.Fatal(err)
	}
	load(t, db, Options{Kind: "admin", Path: "testdata/admin.geojson"})
	load(t, db, Options{Kind: "grids", Path: "testdata/grids.csv"})
	load(t, db, Options{Kind: "addresses", Path: "testdata/addresses.csv"})
	o := Options{Kind: "households", Path: "testdata/households.csv", AddressDataset: "addresses", HashKey: []byte("k"), DataKey: key}
	checkSummary(t, load(t, db, o), 7, 2, 0, 5)
	checkSummary(t, load(t, db, o), 7, 0, 2, 5) // again: nothing new, no second seal
	var n int
	var keyID string
	var name, phone, idNo []byte
	if err := db.QueryRow(ctx, `SELECT count(*) OVER (), p.key_id, p.head_name, p.phone, p.id_no FROM household_personal p
		JOIN household h ON h.id = p.household_id WHERE h.dataset_id = 'h1'`).Scan(&n, &keyID, &name, &phone, &idNo); err != nil {
		t.Fatal(err)
	}
	for field, c := range map[string]struct {
		sealed []byte
		want   string
	}{"head_name": {name, "张三丰"}, "phone": {phone, "13812345678"}, "id_no": {idNo, "440303199001011234"}} {
		if got, err := key.Open(field, c.sealed); err != nil || got != c.want {
			t.Errorf("h1 %s: %q, %v; want %q", field, got, err, c.want)
		}
	}
	var total int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM household_personal`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if keyID != key.ID() || total != 1 {
		t.Errorf("key id %s, %d rows of personal values; want %s and one (h2 has none)", keyID, total, key.ID())
	}
	noID := filepath.Join(t.TempDir(), "noid.csv")
	if err := os.WriteFile(noID, []byte("address_ref,members,phone\na3,2,13900001111\na3,3,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Without an id column a row's id is its position: its values are linked by it.
	checkSummary(t, load(t, db, Options{Kind: "households", Path: noID, AddressDataset: "addresses", DataKey: key}), 2, 2, 0, 0)
	if err := db.QueryRow(ctx, `SELECT p.phone FROM household_personal p JOIN household h ON h.id = p.household_id
		WHERE h.dataset = 'noid'`).Scan(&phone); err != nil {
		t.Fatal(err)
	}
	if got, err := key.Open("phone", phone); err != nil || got != "13900001111" {
		t.Errorf("a row without an id: phone %q, %v", got, err)
	}
}
