package hotspot

import (
	"errors"
	"fmt"
)

// Errors for input on which a statistic is undefined. Callers test them with
// errors.Is; messages are safe to show to a user.
var (
	// ErrTooFewCells: the study area is too small for the statistic (Gi* needs
	// n >= 2 cells, Gi and local Moran's I need n >= 3, so that n-1 and n-2
	// are positive).
	ErrTooFewCells = errors.New("too few cells in the study area")
	// ErrNoVariance: every cell has the same value (population standard
	// deviation S = 0), so no cell can differ from the mean.
	ErrNoVariance = errors.New("all cells have the same value (no variance)")
	// ErrNoEvents: every value is zero. It wraps ErrNoVariance.
	ErrNoEvents = fmt.Errorf("%w: there are no events", ErrNoVariance)
	// ErrLengthMismatch: values and weights (or events and base) differ in length.
	ErrLengthMismatch = errors.New("length mismatch")
	// ErrBadValue: a value is NaN or infinite (or a count/base is negative).
	ErrBadValue = errors.New("value is NaN, infinite or negative")
	// ErrCellOutsideArea: a cell is not in the study area.
	ErrCellOutsideArea = errors.New("cell is outside the study area")
	// ErrInvalidCell: an H3 index is not a valid cell.
	ErrInvalidCell = errors.New("invalid H3 cell")
	// ErrMixedResolution: the study area mixes H3 resolutions.
	ErrMixedResolution = errors.New("study area mixes H3 resolutions")
)
