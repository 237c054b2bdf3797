// Package clock owns onegrid's notion of "now" and of the city's calendar day.
//
// Every default that depends on the current time (the last 30 days of a panel,
// an event's age, whether it is overdue, the standard hotspot window, the end
// of a generated city's events) reads one injectable Clock, so that tests and
// demos can set it and nothing depends on the day the code happens to run.
// The server builds one Clock in cmd/onegrid and hands the same one to every
// package; SQL never calls now() for such a default but gets the reading as a
// parameter.
package clock

import (
	"fmt"
	"time"
)

// Clock reads the current time.
type Clock func() time.Time

// System is the machine's clock.
func System() time.Time { return time.Now() }

// Or returns c, or the system clock when c is nil (a zero Config).
func Or(c Clock) Clock {
	if c == nil {
		return System
	}
	return c
}

// Fixed is a clock that always reads t (tests).
func Fixed(t time.Time) Clock { return func() time.Time { return t } }

// From is a clock that reads start when it is made and then advances with the
// system clock: a server started with --now runs on it, so a demo or a test of
// a past (or future) day still sees time pass.
func From(start time.Time) Clock {
	offset := time.Until(start)
	return func() time.Time { return time.Now().Add(offset) }
}

// China is China Standard Time (UTC+8, no daylight saving since 1991): the day
// boundaries of the generated city, its panel windows and its tile caches.
var China = time.FixedZone("CST", 8*3600)

// Parse reads a --now value: an RFC 3339 instant or a date (midnight, China
// time). The empty string is the system clock.
func Parse(s string) (Clock, error) {
	if s == "" {
		return System, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return From(t), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, China); err == nil {
		return From(t), nil
	}
	return nil, fmt.Errorf("%q: want an RFC 3339 time (2026-11-01T08:00:00+08:00) or a date (2026-11-01)", s)
}
