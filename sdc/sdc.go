// Package sdc is onegrid's statistical disclosure control: the one rule that
// decides whether a count about residents or events may be released and what
// value it is released as. It does no I/O; every route that releases a count
// (aggregates, grid load, building counts, tiles, hotspot inputs) calls it.
//
// # Method
//
// Threshold plus consistent random rounding keyed by the record set: the "cell
// key" perturbation of the Australian Bureau of Statistics (TableBuilder) and of
// the UK Office for National Statistics (2021 census), with unbiased random
// rounding (as in Statistics New Zealand's random rounding) as the perturbation.
//
//   - Every household and every event has a permanent pseudo-random 32-bit record
//     key, a keyed hash of its id (SQL sdc_record_key, schema 0770). A count's
//     cell key is the sum of the record keys of the records it counts, modulo
//     2^32 (CellKey): the same records give the same cell key whichever route
//     counts them (an admin unit, an H3 cell, a polygon, a tile, a grid load).
//   - A count n below the threshold k is suppressed. Any other count is released
//     rounded to a multiple of the base b = k: down to n - n mod b, or up to the
//     next multiple with probability (n mod b)/b, the draw taken from the cell key
//     and the figure (Draw). The rounding is unbiased and the same every time for
//     the same records.
//   - A sum over the same records (people: household members) is rounded the
//     same way with its own draw, and suppressed when its records' count is.
//
// What it guarantees: every released figure is 0 or a multiple of b, so no sum or
// difference of released figures can equal a count strictly between 0 and b (the
// differencing attacks: two polygons that differ by a hole, a parent cell minus
// its children); and a query repeated, or asked in another shape over the same
// records, returns the same value, so it cannot be averaged out. What it costs:
// released values are off by up to b-1 (each, independently), so parts no longer
// add up to the whole; and averaging over many distinct overlapping record sets
// (each its own draw) converges on the truth, a residual risk that rate limits
// slow down.
package sdc

import "fmt"

// Figure says what a released number counts. It salts the draw, so that two
// figures over the same records (households and their people) are rounded
// independently. The values are part of the method (README): never renumber.
type Figure uint8

const (
	Households Figure = 1 // households
	People     Figure = 2 // people: the members of households
	Tagged     Figure = 3 // households carrying a tag
	Events     Figure = 4 // events
	Due        Figure = 5 // closed events that had a deadline
	OnTime     Figure = 6 // of those, closed by the deadline
)

// MaxK bounds the threshold (and base) a Rule accepts.
const MaxK = 1 << 20

// Rule is the threshold k and rounding base b = k.
type Rule struct{ k int64 }

// New returns the rule with threshold and base k (1..MaxK). k = 1 suppresses
// nothing and rounds nothing.
func New(k int) (Rule, error) {
	if k < 1 || k > MaxK {
		return Rule{}, fmt.Errorf("sdc: threshold %d: must be 1..%d", k, MaxK)
	}
	return Rule{k: int64(k)}, nil
}

// Must is New for thresholds already checked; it panics on a bad one.
func Must(k int) Rule {
	r, err := New(k)
	if err != nil {
		panic(err)
	}
	return r
}

// K returns the threshold (and base).
func (r Rule) K() int64 {
	if r.k == 0 {
		return 1
	}
	return r.k
}

// Suppressed reports whether a figure whose records number n is withheld.
func (r Rule) Suppressed(n int64) bool { return n < r.K() }

// CellKey is the cell key of records whose record keys sum to keySum: the sum
// modulo 2^32. Sums may be kept in any integer type and may have been negative on
// the way (deletes subtract): only the low 32 bits matter.
func CellKey(keySum int64) uint32 { return uint32(keySum) }

// Draw is the pseudo-random draw of figure f over the records with cell key c:
// an integer uniform in [0, b). It mixes (c, f) with the SplitMix64 finaliser
// and scales the high 32 bits to [0, b):
//
//	x = c·2^8 + f
//	x ^= x >> 30; x *= 0xbf58476d1ce4e5b9
//	x ^= x >> 27; x *= 0x94d049bb133111eb
//	x ^= x >> 31
//	draw = ((x >> 32) · b) >> 32
//
// The mixing makes draws of record sets that differ by a record unrelated to
// each other (a plain sum would differ by that record's key).
func Draw(c uint32, f Figure, b int64) int64 {
	x := uint64(c)<<8 | uint64(f)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return int64((x >> 32) * uint64(b) >> 32)
}

// Round rounds v (≥ 0) to a multiple of the base: up when Draw < v mod b, so
// with probability (v mod b)/b, else down. keySum is the sum of the record keys
// of the records v counts (or sums over).
func (r Rule) Round(v, keySum int64, f Figure) int64 {
	b := r.K()
	if v <= 0 || b == 1 {
		return max(v, 0)
	}
	rem := v % b
	if rem == 0 {
		return v
	}
	if Draw(CellKey(keySum), f, b) < rem {
		return v - rem + b
	}
	return v - rem
}

// Count releases a count n of records whose keys sum to keySum: ok is false
// (suppressed) when n is below the threshold, else v is n rounded.
func (r Rule) Count(n, keySum int64, f Figure) (v int64, ok bool) {
	if r.Suppressed(n) {
		return 0, false
	}
	return r.Round(n, keySum, f), true
}

// Sum releases v, a sum over n records whose keys sum to keySum (the people of n
// households): suppressed when n is, else v rounded with figure f's own draw.
func (r Rule) Sum(v, n, keySum int64, f Figure) (int64, bool) {
	if r.Suppressed(n) {
		return 0, false
	}
	return r.Round(v, keySum, f), true
}

// Share releases the share num/den of a subset (num records, keys numKey) of
// den records (keys denKey), from the released figures: suppressed when den is
// below the threshold, else Round(num, OnTime-like figure fn) / Count(den, fd),
// clamped to [0, 1] (two independent roundings can put the numerator above the
// denominator). The numerator is rounded but not suppressed: the denominator's
// records pass the threshold, and a rounded numerator of 0 stands for 0..b-1.
func (r Rule) Share(num, numKey int64, fn Figure, den, denKey int64, fd Figure) (float64, bool) {
	d, ok := r.Count(den, denKey, fd)
	if !ok || d == 0 {
		return 0, false
	}
	s := float64(r.Round(num, numKey, fn)) / float64(d)
	return min(max(s, 0), 1), true
}

// Rate releases num per unit of den (events per 1,000 households: per = 1000)
// from the released figures: suppressed when either count is.
func (r Rule) Rate(num, numKey int64, fn Figure, den, denKey int64, fd Figure, per float64) (float64, bool) {
	n, ok := r.Count(num, numKey, fn)
	if !ok {
		return 0, false
	}
	d, ok := r.Count(den, denKey, fd)
	if !ok || d == 0 {
		return 0, false
	}
	return float64(n) * per / float64(d), true
}
