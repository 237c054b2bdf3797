package event

import "time"

// severityShare is the share of a category's time limit that an event of each
// severity gets: an important event half of it, an urgent one a quarter.
var severityShare = map[string]float64{General: 1, Important: 0.5, Urgent: 0.25}

// TimeLimit is how long an event of the severity may take, for a category whose
// time limit (event_category.time_limit_hours, the limit of a general event) is
// limitHours: the limit times the severity's share (general 1, important 1/2,
// urgent 1/4). Limits count natural hours for now; a working-day calendar
// (working hours, holidays, make-up days) will replace them here, in one place.
// An unknown severity counts as general.
func TimeLimit(limitHours int, severity string) time.Duration {
	share, ok := severityShare[severity]
	if !ok {
		share = 1
	}
	return time.Duration(float64(limitHours) * share * float64(time.Hour))
}

// Deadline is when an event reported at reported must be closed: reported plus
// TimeLimit. The generated city (citygen) and the write path (Create) both set
// deadlines with it.
func Deadline(reported time.Time, limitHours int, severity string) time.Time {
	return reported.Add(TimeLimit(limitHours, severity))
}

// checkSeverity validates a severity ("" is general) and returns it.
func checkSeverity(s string) (string, error) {
	if s == "" {
		return General, nil
	}
	if _, ok := severityShare[s]; !ok {
		return "", inputErr("severity", "%q is not one of %v", s, Severities)
	}
	return s, nil
}
