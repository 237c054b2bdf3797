package event

import "time"

// The synthetic loop: how the generated city's year (citygen) and the demo
// pulse's live loop (event/pulse) move events along. Both draw from here, so a
// generated event and a live one age alike.

// FeedbackWindow is how long a resolved event waits for the reporter's feedback
// (and rating) before it is closed.
const FeedbackWindow = 48 * time.Hour

// RatedShare is the share of closed events whose reporter rates the result.
const RatedShare = 0.85

// RatingShares are the shares of the ratings 1 to 5 among rated events.
var RatingShares = []float64{0.03, 0.05, 0.12, 0.25, 0.55}

// HandlingTime is how long an event with the time limit takes from its report to
// its resolution, given two uniform draws in [0, 1): u1 below 0.95 (95 % of
// events) takes 5–95 % of the limit, the rest are late and take 105–305 %.
func HandlingTime(u1, u2 float64, limit time.Duration) time.Duration {
	if u1 < 0.95 {
		return time.Duration((0.05 + 0.9*u2) * float64(limit))
	}
	return time.Duration((1.05 + 2*u2) * float64(limit))
}

// Stage is the status of an event age after its report when it takes took to
// resolve: reported for the first 10 % of took, dispatched to 30 %, handling
// until took, resolved for FeedbackWindow after that, then closed.
func Stage(age, took time.Duration) string {
	if age < took {
		switch f := float64(age) / float64(took); {
		case f < 0.1:
			return Reported
		case f < 0.3:
			return Dispatched
		}
		return Handling
	}
	if age < took+FeedbackWindow {
		return Resolved
	}
	return Closed
}

// StageStart is when, after the report, an event that takes took to resolve
// enters status (as Stage has it); false for a status the model does not reach.
func StageStart(status string, took time.Duration) (time.Duration, bool) {
	switch status {
	case Reported:
		return 0, true
	case Dispatched:
		return time.Duration(0.1 * float64(took)), true
	case Handling:
		return time.Duration(0.3 * float64(took)), true
	case Resolved:
		return took, true
	case Closed:
		return took + FeedbackWindow, true
	}
	return 0, false
}

// Rating maps a uniform draw u in [0, 1) to a rating 1 to 5 with RatingShares.
func Rating(u float64) int {
	for i, s := range RatingShares {
		u -= s
		if u < 0 {
			return i + 1
		}
	}
	return len(RatingShares)
}
