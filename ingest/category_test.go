package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestLoadCategories loads a three-level taxonomy: rows that break the tree's
// rules are rejected with their line, field and reason; loading again changes
// nothing; a changed name is updated and a category never moves.
func TestLoadCategories(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := load(t, db, Options{Kind: "categories", Path: "testdata/categories.csv"})
	checkSummary(t, s, 13, 6, 0, 7)
	checkRejects(t, db, s, []want{
		{8, "parent", "a level-1 category has no parent"},
		{9, "parent", "no category 03 in the database or this file"},
		{10, "parent", "parent 0101 is at level 2: a level-2 category's parent is at level 1"},
		{11, "code", `code a b: want 1 to 32 letters, digits or "-"`},
		{12, "parent", "missing required field for level 2"},
		{13, "code", "duplicate code 02 within the file (first at line 5)"},
		{14, "default_severity", `unknown value "severe": want one of general, important, urgent`},
	})
	for _, c := range []struct{ code, want string }{
		{"01", "1 - 市容环境 City appearance 城管局 general 72"},
		{"0101", "2 01 暴露垃圾 Exposed rubbish 环卫所 - 24"},
		{"010101", "3 0101 垃圾满溢 Overflowing bin  general 72"},
		{"0201", "2 02 治安隐患 Public order  urgent 4"},
		{"0102", "2 02 占道经营 Street vending  - 72"},
	} {
		got := str(t, db, `SELECT concat_ws(' ', level, coalesce(parent_code, '-'), name, name_en, department, coalesce(default_severity, '-'), time_limit_hours) FROM event_category WHERE code = $1`, c.code)
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.code, got, c.want)
		}
	}
	// Again: nothing changes.
	s = load(t, db, Options{Kind: "categories", Path: "testdata/categories.csv"})
	checkSummary(t, s, 13, 0, 6, 7)

	// A changed name and a new category; a row that would move a category.
	b, err := os.ReadFile("testdata/categories.csv")
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(b), "0101,01,2,暴露垃圾,", "0101,01,2,暴露垃圾（含建筑垃圾）,", 1)
	changed = strings.Replace(changed, "010101,0101,3,垃圾满溢,Overflowing bin,,general,", "010101,0201,3,挪走,Moved,,,", 1)
	changed += "0103,01,2,乱贴乱画,Flyposting,,,\n"
	p := filepath.Join(t.TempDir(), "categories.csv")
	if err := os.WriteFile(p, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	s = load(t, db, Options{Kind: "categories", Path: p})
	checkSummary(t, s, 14, 2, 4, 8)
	if s.Detail["updated"] != 1 || s.Detail["created"] != 1 {
		t.Errorf("detail = %v, want 1 updated and 1 created", s.Detail)
	}
	if got := str(t, db, `SELECT name || ' ' || name_en || ' ' || department FROM event_category WHERE code = '0101'`); got != "暴露垃圾（含建筑垃圾） Exposed rubbish 环卫所" {
		t.Errorf("0101 after the rename = %q", got)
	}
	rj, err := Rejects(t.Context(), db, s.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if first := rj[0]; first.Line != 4 || first.Reason != "category 010101 exists at level 3 under 0101: a category does not move (its events are rolled up by its level-1 category)" {
		t.Errorf("the moving row's reject = %+v", first)
	}
	if got := str(t, db, `SELECT parent_code FROM event_category WHERE code = '010101'`); got != "0101" {
		t.Errorf("010101 moved to %s", got)
	}
}

// TestCategoryDefaultSeverity: an event without a severity takes its
// category's default severity; one without either is general.
func TestCategoryDefaultSeverity(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	load(t, db, Options{Kind: "categories", Path: "testdata/categories.csv"})
	p := filepath.Join(t.TempDir(), "ev.csv")
	if err := os.WriteFile(p, []byte("id,category,severity,reported_at,lon,lat\nx1,02,,2026-01-01 08:00:00,114,22.5\nx2,02,一般,2026-01-01 08:00:00,114,22.5\nx3,0102,,2026-01-01 08:00:00,114,22.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	load(t, db, Options{Kind: "events", Path: p})
	if got := str(t, db, `SELECT string_agg(dataset_id || ' ' || severity, ', ' ORDER BY dataset_id) FROM event`); got != "x1 important, x2 general, x3 general" {
		t.Errorf("severities = %s", got)
	}
}
