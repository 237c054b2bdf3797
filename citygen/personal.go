package citygen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Clear personal values. A real roll holds the household head's name, phone
// number and ID number; onegrid stores them masked (张*, 138****5678) with keyed
// hashes on the household row, and clear only sealed with the data key
// (household_personal, package seal), where unmasking with a reason opens them.
// Generate writes synthetic clear values for the households of one building in
// personalEvery (when Options.DataKey is set), consistent with the masked
// forms: sealing costs about 1 µs a value and the extra COPY a few µs a row, so
// sealing every household would add seconds to a 1M-household run.
const personalEvery = 4

// sealsPersonal reports whether the building's households get sealed values.
func sealsPersonal(buildingID int64) bool { return buildingID%personalEvery == 0 }

// givenNames are common given names; a clear name is a surname and one of them.
var givenNames = strings.Fields(`伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建华 文 华 红 建国 志强 玉兰`)

// clearValues are one household's clear personal values, kept between the
// household COPY and the sealed one.
type clearValues struct {
	id                    int64
	name, phone, idNumber string
}

// givenName draws the given name of a household head from the building's own
// stream (not the households' stream, so the rest of the city is unchanged).
func givenName(r *rand.Rand) string { return givenNames[r.IntN(len(givenNames))] }

var personalCols = []string{"household_id", "key_id", "head_name", "phone", "id_no"}

// personal writes the kept clear values sealed into household_personal. Its
// foreign key is dropped for the COPY and added back after (one validating
// join instead of a lookup per row).
func (w *writer) personal(ctx context.Context) error {
	vals := w.clear
	w.clear = nil
	if w.o.DataKey == nil || len(vals) == 0 {
		return nil
	}
	rows, err := w.tx.Query(ctx, `SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = 'household_personal'::regclass AND contype = 'f' ORDER BY conname`)
	if err != nil {
		return fmt.Errorf("household_personal keys: %w", err)
	}
	fks, err := scanConDefs2(rows)
	if err != nil {
		return fmt.Errorf("household_personal keys: %w", err)
	}
	for _, f := range fks {
		if _, err := w.tx.Exec(ctx, "ALTER TABLE household_personal DROP CONSTRAINT "+pgx.Identifier{f[0]}.Sanitize()); err != nil {
			return fmt.Errorf("drop %s: %w", f[0], err)
		}
	}
	key := w.o.DataKey
	_, err = w.copyRows(ctx, "household_personal", personalCols, func(emit func([]any) error) error {
		s := key.Sealer()
		id := key.ID()
		for _, v := range vals {
			if err := emit([]any{v.id, id, s.Seal("head_name", v.name), s.Seal("phone", v.phone), s.Seal("id_no", v.idNumber)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range fks {
		if _, err := w.tx.Exec(ctx, "ALTER TABLE household_personal ADD CONSTRAINT "+pgx.Identifier{f[0]}.Sanitize()+" "+f[1]); err != nil {
			return fmt.Errorf("add %s: %w", f[0], err)
		}
	}
	return nil
}

func scanConDefs2(rows pgx.Rows) ([][2]string, error) {
	var out [][2]string
	for rows.Next() {
		var c [2]string
		if err := rows.Scan(&c[0], &c[1]); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
