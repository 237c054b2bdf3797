package event

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// Step is one move of an event through the loop, as event_step records it.
type Step struct {
	// At is when the move happened: the server's clock. It may not be before
	// the event was reported nor before the event's last step (the history is
	// append-only and in time order).
	At    time.Time
	Actor string // a channel or role, never a person's name (see Report.Actor)
	Note  string // free text for the timeline, at most MaxNote characters
}

// A move takes an event from one of from to status to; closes sets closed_at.
type move struct {
	to     string
	from   []string
	closes bool
}

var (
	dispatch = move{to: Dispatched, from: []string{Reported}}
	handle   = move{to: Handling, from: []string{Dispatched}}
	resolve  = move{to: Resolved, from: []string{Handling}, closes: true}
	closing  = move{to: Closed, from: []string{Resolved}}
)

// Dispatch moves a reported event to a handler (分办): reported → dispatched.
func Dispatch(ctx context.Context, db DB, id int64, s Step) error {
	return apply(ctx, db, id, dispatch, s, 0)
}

// Handle records that handling started (处置): dispatched → handling.
func Handle(ctx context.Context, db DB, id int64, s Step) error {
	return apply(ctx, db, id, handle, s, 0)
}

// Resolve records that the event was dealt with (办结): handling → resolved,
// closed_at = s.At. It awaits the reporter's feedback before Close.
func Resolve(ctx context.Context, db DB, id int64, s Step) error {
	return apply(ctx, db, id, resolve, s, 0)
}

// Close ends the loop (结案): resolved → closed. satisfaction is the reporter's
// rating, 1 (worst) to 5, or 0 for none; a rating is recorded as its own step
// ('rated') just before 'closed'.
func Close(ctx context.Context, db DB, id int64, s Step, satisfaction int) error {
	if satisfaction < 0 || satisfaction > 5 {
		return inputErr("satisfaction", "%d: must be 1..5, or 0 for none", satisfaction)
	}
	return apply(ctx, db, id, closing, s, satisfaction)
}

// moveSQL changes the event's status (and closed_at, satisfaction) only if its
// status allows the move and s.At is not before its report or its last step,
// and appends the steps: one statement, both or neither.
//
//	$1 id, $2 new status, $3 at, $4 allowed statuses, $5 set closed_at,
//	$6 satisfaction (NULL: unchanged), $7 actor, $8 step statuses, $9 step notes
const moveSQL = `
WITH u AS (
    UPDATE event SET status = $2,
        closed_at = CASE WHEN $5 THEN $3 ELSE closed_at END,
        satisfaction = coalesce($6, satisfaction)
    WHERE id = $1 AND status = ANY ($4) AND reported_at <= $3
      AND NOT EXISTS (SELECT 1 FROM event_step s WHERE s.event_id = $1 AND s.at > $3)
    RETURNING id)
INSERT INTO event_step (event_id, at, status, actor, note)
SELECT u.id, $3, v.status, $7, v.note
FROM u, unnest($8::text[], $9::text[]) WITH ORDINALITY v (status, note, n)
ORDER BY v.n
RETURNING event_id`

// whyNotSQL reads what decides whether a move may happen.
const whyNotSQL = `SELECT e.status, e.reported_at, (SELECT max(s.at) FROM event_step s WHERE s.event_id = e.id)
FROM event e WHERE e.id = $1`

func apply(ctx context.Context, db DB, id int64, m move, s Step, satisfaction int) error {
	if id <= 0 {
		return inputErr("id", "%d: must be positive", id)
	}
	if s.At.IsZero() {
		return inputErr("at", "required: the time of the step")
	}
	if err := checkActor(s.Actor); err != nil {
		return err
	}
	if !utf8.ValidString(s.Note) {
		return inputErr("note", "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s.Note); n > MaxNote {
		return inputErr("note", "%d characters, at most %d", n, MaxNote)
	}
	statuses, notes := []string{m.to}, []string{s.Note}
	var sat any
	if satisfaction > 0 {
		sat = satisfaction
		statuses = []string{"rated", m.to}
		notes = []string{fmt.Sprintf("satisfaction %d/5", satisfaction), s.Note}
	}
	rows, err := db.Query(ctx, moveSQL, id, m.to, s.At, m.from, m.closes, sat, s.Actor, statuses, notes)
	if err != nil {
		return fmt.Errorf("event %d → %s: %w", id, m.to, err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("event %d → %s: %w", id, m.to, err)
	}
	if n > 0 {
		return nil
	}
	// Nothing changed: say why.
	var status string
	var reported time.Time
	var last *time.Time
	if err := db.QueryRow(ctx, whyNotSQL, id).Scan(&status, &reported, &last); err != nil {
		if isNoRows(err) {
			return fmt.Errorf("event %d: %w", id, ErrNotFound)
		}
		return fmt.Errorf("event %d → %s: %w", id, m.to, err)
	}
	switch {
	case !slices.Contains(m.from, status):
		return &TransitionError{ID: id, Status: status, Move: m.to, Allowed: m.from}
	case s.At.Before(reported):
		return inputErr("at", "%s is before event %d was reported (%s)", s.At.Format(time.RFC3339), id, reported.Format(time.RFC3339))
	case last != nil && s.At.Before(*last):
		return inputErr("at", "%s is before event %d's last step (%s)", s.At.Format(time.RFC3339), id, last.Format(time.RFC3339))
	}
	return fmt.Errorf("event %d → %s: %w", id, m.to, ErrChanged)
}
