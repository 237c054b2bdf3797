// Package hotspot owns the statistics of hot spot detection over H3 cells:
// neighbour weights, Getis-Ord Gi* and Gi, local Moran's I, p-values and
// confidence bins with Benjamini-Hochberg false-discovery-rate control,
// event rates with empirical-Bayes smoothing, and emerging hot spot
// patterns (per-slice Gi* plus a Mann-Kendall trend). It is pure
// computation: no I/O, no database, no HTTP, and it imports nothing of the
// project (only github.com/uber/h3-go/v4).
//
// # Conventions
//
// Values are per cell in observation order: for H3 weights that is the
// study-area cells in ascending H3 index order (Weights.Cells; use
// Weights.Dense to zero-fill sparse counts). A value is whatever the caller
// analyses: an event count, or a rate (events per 1,000 households with
// Rates(events, households, 1000)). z-scores are standard-normal units;
// p-values are two-sided, p = erfc(|z|/sqrt 2). Bins are +-3/+-2/+-1 at
// p <= 0.01/0.05/0.10 (99/95/90 % confidence), sign of z, 0 otherwise.
//
// # Formulas
//
// Getis-Ord Gi* (Ord & Getis 1995), binary weights including self, S the
// population standard deviation over all n cells:
//
//	z_i = (sum_j w_ij x_j - mean(x) W_i) / (S sqrt((n S1_i - W_i^2)/(n-1)))
//	W_i = sum_j w_ij, S1_i = sum_j w_ij^2
//
// Gi (self excluded) uses the mean and variance of the n-1 other values and
// n-1 in place of n, as R spdep localG; see LocalG. Local Moran's I is
// Anselin (1995) with spdep's conditional randomisation variance; see
// LocalMoran. Benjamini & Hochberg (1995) adjustment is R p.adjust "BH".
// Empirical-Bayes rates follow Marshall (1991); see EBRates. The trend test
// is Mann-Kendall with tie correction; see MannKendall. Emerging patterns
// follow ESRI's Emerging Hot Spot Analysis definitions; see Category.
//
// # Degenerate input
//
// Nothing returns NaN or panics on data. Study areas too small for a
// statistic give ErrTooFewCells; all-equal values ErrNoVariance; all-zero
// values ErrNoEvents (which is also ErrNoVariance). A cell whose variance
// term is zero (its neighbourhood is the whole area, or an island under Gi)
// gets z = 0 and is listed in Result.Undefined. With mostly-zero counts cold
// spots are out of reach; ColdSpotReachable says so per cell.
//
// Reference values from PySAL esda and R spdep are reproduced by the tests
// (data in shared/data/hotspot, see its README).
package hotspot
