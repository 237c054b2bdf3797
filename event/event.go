package event

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/onegrid/onegrid/scope"

	"github.com/jackc/pgx/v5"
)

// DB is what the package needs from the database: a request's transaction
// (pgx.Tx, which carries the caller's identity, so row-level security confines
// every write to the caller's jurisdiction), or a *pgxpool.Pool. Begin is a
// transaction on a pool and a savepoint in a transaction: a write of several
// statements is whole or absent either way.
type DB interface {
	scope.DB
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Severities, in rising order: 一般, 重要, 紧急.
const (
	General   = "general"
	Important = "important"
	Urgent    = "urgent"
)

// Statuses of the loop.
const (
	Reported   = "reported"
	Dispatched = "dispatched"
	Handling   = "handling"
	Resolved   = "resolved" // handled; awaiting the reporter's feedback
	Closed     = "closed"
	Cancelled  = "cancelled"
)

// The enumerations of the event table (schema 0003): every other package that
// checks a value against them uses these.
var (
	Severities = []string{General, Important, Urgent}
	Statuses   = []string{Reported, Dispatched, Handling, Resolved, Closed, Cancelled}
	// OpenStatuses are the statuses of an event still in the loop: open events,
	// and overdue when past their deadline.
	OpenStatuses = []string{Reported, Dispatched, Handling}
	// Sources are the intake channels: a grid worker's patrol, a grid's QR code
	// (一格一码), the 12345 hotline, an app, a sensor, anything else.
	Sources = []string{"patrol", "qr", "hotline", "app", "sensor", "other"}
)

// Longest texts, in characters: a title, a step's actor and its note.
const (
	MaxTitle = 200
	MaxActor = 100
	MaxNote  = 1000
)

// ErrNotFound is returned for an event id that does not exist.
var ErrNotFound = errors.New("event not found")

// ErrChanged is returned when another writer moved the event while a move was
// being made; reading it again shows where it is now.
var ErrChanged = errors.New("changed by another writer meanwhile")

// InputError is bad input: the field at fault and what is wrong with it, both
// safe to show to whoever sent it.
type InputError struct {
	Field   string
	Problem string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Problem }

func inputErr(field, format string, args ...any) *InputError {
	return &InputError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// TransitionError is a move that the event's current status does not allow
// (dispatching a closed event, say).
type TransitionError struct {
	ID      int64
	Status  string   // the event's status
	Move    string   // the status the move leads to
	Allowed []string // the statuses the move starts from
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("event %d is %s: it cannot become %s (only from %v)", e.ID, e.Status, e.Move, e.Allowed)
}

// checkEnum reports v's absence from allowed as an *InputError on field.
func checkEnum(field, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		return inputErr(field, "%q is not one of %v", v, allowed)
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// checkActor validates who recorded a step: any text up to MaxActor characters.
func checkActor(a string) error {
	if !utf8.ValidString(a) {
		return inputErr("actor", "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(a); n > MaxActor {
		return inputErr("actor", "%d characters, at most %d", n, MaxActor)
	}
	return nil
}

// IsOpen reports whether status is one of OpenStatuses.
func IsOpen(status string) bool { return slices.Contains(OpenStatuses, status) }
