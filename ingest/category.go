package ingest

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A city's event taxonomy: three levels (大类 / 小类 / 细类), each category
// with a code, its parent's code, a name and optionally an English name, the
// responsible department, a default severity and a time limit.
//
// `ingest categories <file>` loads it from CSV (or GeoJSON properties) with the
// fields code, parent, level, name, name_en, department, default_severity and
// time_limit_hours. It is idempotent and keyed by code: a new code is
// created; a known code whose name, name_en, department, default severity or
// time limit differs is updated to the file's values (a column the file does
// not have leaves the value as it is); a known code whose row says the same
// is unchanged. A category never moves: a row that gives a known code another
// parent or level is rejected, since events' roll-ups are kept by their
// level-1 category. Rejects are reported as in every load: the code's form, a
// level outside 1..3, a level-1 category with a parent, a level-2 or 3 one
// without, a parent that is neither in the database nor in the file or that is
// not one level up, a duplicate code in the file.

// codeRE is what a category code may look like: letters, digits and '-', up to
// 32 characters, which the features API (category=) and the hotspot analysis
// (category=) both accept.
const codeRE = `^[0-9A-Za-z-]{1,32}$`

var categoryKind = (&kindSpec{
	name: "categories",
	fields: []field{
		textField("code", true),
		textField("parent", false),
		intField("level", true, 1, 3),
		textField("name", true),
		textField("name_en", false),
		textField("department", false),
		enumField("default_severity", false, "", severities),
		intField("time_limit_hours", false, 1, 100000),
	},
	geom: geomNone,
	idOf: func(v rowView) (string, bool) { return v.str("code") },
	check: func(v rowView) *FieldError {
		level, _ := v.get("level").(int64)
		_, hasParent := v.str("parent")
		switch {
		case level == 1 && hasParent:
			return &FieldError{Field: "parent", Reason: "a level-1 category has no parent"}
		case level > 1 && !hasParent:
			return &FieldError{Field: "parent", Reason: fmt.Sprintf("missing required field for level %d", level)}
		}
		return nil
	},
	sql: kindSQL{
		checks: []string{
			dupCheck,
			`UPDATE ingest_stage s SET rfield = 'code', rreason = format('code %s: want 1 to 32 letters, digits or "-"', s.code)
WHERE s.rreason IS NULL AND s.code !~ '` + codeRE + `'`,
			`UPDATE ingest_stage s SET rfield = 'level', rreason = format('category %s exists at level %s%s: a category does not move (its events are rolled up by its level-1 category)',
    s.code, c.level, coalesce(' under ' || c.parent_code, ''))
FROM event_category c
WHERE s.rreason IS NULL AND c.code = s.code AND (c.level <> s.level OR c.parent_code IS DISTINCT FROM s.parent)`,
			// The parent's level: from the database, else from a good row of the file.
			`UPDATE ingest_stage s SET rfield = 'parent', rreason = CASE WHEN p.level IS NULL
        THEN format('no category %s in the database or this file', s.parent)
        ELSE format('parent %s is at level %s: a level-%s category''s parent is at level %s', s.parent, p.level, s.level, s.level - 1) END
FROM ingest_stage x
LEFT JOIN LATERAL (SELECT coalesce((SELECT c.level FROM event_category c WHERE c.code = x.parent),
    (SELECT f.level FROM ingest_stage f WHERE f.code = x.parent AND f.rreason IS NULL LIMIT 1)) AS level) p ON true
WHERE s.line = x.line AND s.rreason IS NULL AND s.parent IS NOT NULL AND (p.level IS NULL OR p.level <> s.level - 1)`,
		},
		// Known codes whose row differs are updated, new codes inserted; the
		// statement returns both counts (loaded = created + updated).
		insert: `WITH upd AS (
    UPDATE event_category c SET name = s.name, name_en = coalesce(s.name_en, c.name_en), department = coalesce(s.department, c.department),
        default_severity = coalesce(s.default_severity, c.default_severity), time_limit_hours = coalesce(s.time_limit_hours, c.time_limit_hours)
    FROM ingest_stage s
    WHERE s.rreason IS NULL AND c.code = s.code
      AND (c.name, c.name_en, c.department, c.default_severity, c.time_limit_hours) IS DISTINCT FROM
          (s.name, coalesce(s.name_en, c.name_en), coalesce(s.department, c.department), coalesce(s.default_severity, c.default_severity), coalesce(s.time_limit_hours, c.time_limit_hours))
    RETURNING 1
), ins AS (
    INSERT INTO event_category (code, level, parent_code, name, name_en, department, default_severity, time_limit_hours)
    SELECT s.code, s.level, s.parent, s.name, coalesce(s.name_en, ''), coalesce(s.department, ''), s.default_severity, coalesce(s.time_limit_hours, 72)
    FROM ingest_stage s
    WHERE s.rreason IS NULL AND NOT EXISTS (SELECT 1 FROM event_category c WHERE c.code = s.code)
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins) + (SELECT count(*) FROM upd), (SELECT count(*) FROM upd)`,
		counts: "updated",
	},
}).init()

func init() { kinds["categories"] = categoryKind }

// taxonomy says how created categories are coded: a prefix, then per level a
// fixed number of digits appended to the parent's code (so no code is a
// prefix of another level's sibling, and a category's subtree is its prefix).
type taxonomy struct {
	prefix string
	digits [3]int
}

// sfTaxonomy is the San Francisco preset's: SF01, SF01001, SF01001001.
var sfTaxonomy = taxonomy{prefix: "SF", digits: [3]int{2, 3, 3}}

var prefixPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,11}$`)

// newTaxonomy checks prefix and gives it three digits a level.
func newTaxonomy(prefix string) (taxonomy, error) {
	if !prefixPattern.MatchString(prefix) {
		return taxonomy{}, fmt.Errorf("category prefix %q: want a letter, then up to 11 letters or digits", prefix)
	}
	return taxonomy{prefix: prefix, digits: [3]int{3, 3, 3}}, nil
}

// DefaultCategoryPrefix is the category code prefix of a dataset when none is
// given: its letters and digits, upper-cased, at most 8, after a leading letter.
func DefaultCategoryPrefix(dataset string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(dataset) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9' && b.Len() > 0) {
			b.WriteRune(r)
		}
		if b.Len() == 8 {
			break
		}
	}
	if b.Len() == 0 {
		return "C"
	}
	return b.String()
}

// sourceName is the text a created category is found again by.
const sourceName = `coalesce(%[1]s.source_name, %[1]s.name_en)`

func srcName(alias string) string { return fmt.Sprintf(sourceName, alias) }

// createCategorySQL returns the statements that create the categories the
// staged columns cols name (level 1 first, one to three of them) and set each
// staged row's category to the code of the finest level it names.
//
// Codes are assigned once and found again by their source text: a level-1
// category is found by prefix and text, a lower one by its parent and text;
// names not found get the next numbers after the highest existing one under
// their parent (or prefix), in text order. So loading a file again, or an
// extended file, keeps every earlier code, whatever order the rows come in.
func createCategorySQL(t taxonomy, cols []string) []string {
	lvl1 := `^` + t.prefix + `[0-9]{` + strconv.Itoa(t.digits[0]) + `}$`
	// path joins the categories of levels 1..k named by the row n.v1..n.vk.
	path := func(k int, outer bool) string {
		j := "JOIN"
		if outer {
			j = "LEFT JOIN"
		}
		s := "JOIN event_category c1 ON c1.level = 1 AND c1.code ~ '" + lvl1 + "' AND " + srcName("c1") + " = n.v1"
		for i := 2; i <= k; i++ {
			s += fmt.Sprintf("\n%s event_category c%d ON c%d.parent_code = c%d.code AND %s = n.v%d", j, i, i, i-1, srcName(fmt.Sprintf("c%d", i)), i)
		}
		return s
	}
	distinct := func(k int, notNull bool) string {
		var sel, cond []string
		for i := 1; i <= k; i++ {
			sel = append(sel, fmt.Sprintf("%s AS v%d", pgx.Identifier{cols[i-1]}.Sanitize(), i))
			if notNull {
				cond = append(cond, pgx.Identifier{cols[i-1]}.Sanitize()+" IS NOT NULL")
			}
		}
		w := "rreason IS NULL"
		if notNull {
			w += " AND " + strings.Join(cond, " AND ")
		}
		return "(SELECT DISTINCT " + strings.Join(sel, ", ") + " FROM ingest_stage WHERE " + w + ") n"
	}
	num := func(d int, max, order string) string {
		// No lpad truncation: a number that does not fit leaves the code NULL,
		// which the NOT NULL constraint refuses (reported with a hint).
		x := "coalesce(" + max + ", 0) + row_number() OVER (" + order + ")"
		return "CASE WHEN " + x + " < " + strconv.Itoa(pow10(d)) + " THEN lpad((" + x + ")::text, " + strconv.Itoa(d) + ", '0') END"
	}
	stmts := []string{
		`SELECT pg_advisory_xact_lock(hashtext('onegrid event_category ` + t.prefix + `'))`,
		`INSERT INTO event_category (code, level, name, name_en, source_name)
SELECT '` + t.prefix + `' || ` + num(t.digits[0], `(SELECT max(substr(code, `+strconv.Itoa(len(t.prefix)+1)+`)::int) FROM event_category WHERE level = 1 AND code ~ '`+lvl1+`')`, "ORDER BY n.v1") + `, 1, n.v1, n.v1, n.v1
FROM ` + distinct(1, true) + `
WHERE NOT EXISTS (SELECT 1 FROM event_category c WHERE c.level = 1 AND c.code ~ '` + lvl1 + `' AND ` + srcName("c") + ` = n.v1)`,
	}
	for k := 2; k <= len(cols); k++ {
		d := strconv.Itoa(t.digits[k-1])
		p := fmt.Sprintf("c%d", k-1)
		stmts = append(stmts, `INSERT INTO event_category (code, level, parent_code, name, name_en, source_name)
SELECT `+p+`.code || `+num(t.digits[k-1], `(SELECT max(substr(x.code, length(`+p+`.code) + 1)::int) FROM event_category x
        WHERE x.parent_code = `+p+`.code AND substr(x.code, 1, length(`+p+`.code)) = `+p+`.code AND substr(x.code, length(`+p+`.code) + 1) ~ '^[0-9]{`+d+`}$')`,
			"PARTITION BY "+p+".code ORDER BY n.v"+strconv.Itoa(k))+`, `+strconv.Itoa(k)+`, `+p+`.code, n.v`+strconv.Itoa(k)+`, n.v`+strconv.Itoa(k)+`, n.v`+strconv.Itoa(k)+`
FROM `+distinct(k, true)+`
`+path(k-1, false)+`
WHERE NOT EXISTS (SELECT 1 FROM event_category x WHERE x.parent_code = `+p+`.code AND `+srcName("x")+` = n.v`+strconv.Itoa(k)+`)`)
	}
	var vs, eq, codes []string
	for i := 1; i <= len(cols); i++ {
		c := pgx.Identifier{cols[i-1]}.Sanitize()
		vs = append(vs, fmt.Sprintf("n.v%d", i))
		eq = append(eq, fmt.Sprintf("s.%s IS NOT DISTINCT FROM m.v%d", c, i))
		codes = append([]string{fmt.Sprintf("c%d.code", i)}, codes...)
	}
	code := codes[0]
	if len(codes) > 1 {
		code = "coalesce(" + strings.Join(codes, ", ") + ")"
	}
	stmts = append(stmts, `UPDATE ingest_stage s SET category = m.code
FROM (SELECT `+strings.Join(vs, ", ")+`, `+code+` AS code
      FROM `+distinct(len(cols), false)+`
      `+path(len(cols), true)+`) m
WHERE s.rreason IS NULL AND `+strings.Join(eq, " AND "))
	return stmts
}

func pow10(d int) int {
	n := 1
	for range d {
		n *= 10
	}
	return n
}

// createCategories runs createCategorySQL in tx.
func createCategories(ctx context.Context, tx pgx.Tx, t taxonomy, cols []string) error {
	for i, q := range createCategorySQL(t, cols) {
		if _, err := tx.Exec(ctx, q); err != nil {
			if strings.Contains(err.Error(), `"code"`) && strings.Contains(err.Error(), "null value") {
				return fmt.Errorf("create categories: more categories at one level than the %s scheme's digits allow (%v a level): %w", t.prefix, t.digits, err)
			}
			return fmt.Errorf("create categories, step %d: %w", i+1, err)
		}
	}
	return nil
}

// eventCategoryLevels returns the staged columns that name the categories of
// an events file, level 1 first: category1 and category2 where any good row
// has them, then category. A row missing a level the file uses is rejected.
func eventCategoryLevels(ctx context.Context, tx pgx.Tx) ([]string, error) {
	var has1, has2 bool
	if err := tx.QueryRow(ctx, `SELECT coalesce(bool_or(category1 IS NOT NULL), false), coalesce(bool_or(category2 IS NOT NULL), false)
FROM ingest_stage WHERE rreason IS NULL`).Scan(&has1, &has2); err != nil {
		return nil, fmt.Errorf("category levels: %w", err)
	}
	var cols []string
	if has1 {
		cols = append(cols, "category1")
	}
	if has2 {
		cols = append(cols, "category2")
	}
	cols = append(cols, "category")
	for _, c := range cols[:len(cols)-1] {
		if _, err := tx.Exec(ctx, `UPDATE ingest_stage SET rfield = $1, rreason = $2
WHERE rreason IS NULL AND `+pgx.Identifier{c}.Sanitize()+` IS NULL`, c, fmt.Sprintf("missing required field: the file's categories have %d levels", len(cols))); err != nil {
			return nil, fmt.Errorf("category levels: %w", err)
		}
	}
	return cols, nil
}
