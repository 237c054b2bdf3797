// Package sdctest computes what the disclosure-control rule releases, for tests,
// independently of package sdc: written again from the method as README
// "Disclosure control" states it, and fed with record keys read from the
// database. Tests compare what a route released with what this says it must.
package sdctest

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Figures, numbered as in the README.
const (
	Households = 1
	People     = 2
	Tagged     = 3
	Events     = 4
	Due        = 5
	OnTime     = 6
)

// Set is a set of records as the rule sees it: how many, and the sum of their
// record keys.
type Set struct {
	N    int64
	Keys uint64 // sum of the record keys, modulo 2^64 (only the low 32 bits matter)
}

// Add adds a record with key k.
func (s *Set) Add(k uint64) { s.N++; s.Keys += k }

// Round is value v (a count or a sum over the records of s) rounded to a multiple
// of base k: up with probability (v mod k)/k, the draw taken from the cell key
// (the keys' sum modulo 2^32) and the figure.
func Round(k, v int64, s Set, figure uint64) int64 {
	if v <= 0 || k == 1 || v%k == 0 {
		return max(v, 0)
	}
	cellKey := s.Keys & 0xffffffff
	x := cellKey<<8 + figure
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	draw := int64((x >> 32) * uint64(k) >> 32)
	down := v / k * k
	if draw < v%k {
		return down + k
	}
	return down
}

// Count is the released value of the count of s, or nil when below k.
func Count(k int64, s Set, figure uint64) *int64 {
	if s.N < k {
		return nil
	}
	v := Round(k, s.N, s, figure)
	return &v
}

// Sum is the released value of v summed over the records of s (people), or nil
// when s has fewer than k records.
func Sum(k, v int64, s Set, figure uint64) *int64 {
	if s.N < k {
		return nil
	}
	r := Round(k, v, s, figure)
	return &r
}

// Querier is what Keys needs: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Keys reads the record key of every row of table (household or event): the SQL
// definition, which is an input of the rule, not what the tests check.
func Keys(ctx context.Context, db Querier, table string) (map[int64]uint64, error) {
	if table != "household" && table != "event" {
		return nil, fmt.Errorf("sdctest: no record keys for %q", table)
	}
	rows, err := db.Query(ctx, `SELECT id, sdc_record_key(id, (SELECT seed FROM sdc_secret)) FROM `+table)
	if err != nil {
		return nil, err
	}
	out := map[int64]uint64{}
	var id, k int64
	_, err = pgx.ForEachRow(rows, []any{&id, &k}, func() error {
		out[id] = uint64(k)
		return nil
	})
	return out, err
}

// Execer is what FixSeed needs.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// FixSeed replaces the database's random record-key seed (schema 0770) with
// seed and recomputes the key sums (derived_rebuild), so that released values,
// and golden files holding them, are the same on every run.
func FixSeed(ctx context.Context, db Execer, seed int64) error {
	if _, err := db.Exec(ctx, `UPDATE sdc_secret SET seed = $1`, seed); err != nil {
		return fmt.Errorf("sdctest: fix seed: %w", err)
	}
	if _, err := db.Exec(ctx, `SELECT derived_rebuild()`); err != nil {
		return fmt.Errorf("sdctest: fix seed: %w", err)
	}
	return nil
}
