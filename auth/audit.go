package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/scope"
)

// AuditEntry is one line of the append-only audit log: who unmasked which
// fields of which record, when and why. The log holds no personal value, only
// record ids and field names.
type AuditEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	UserID     *int64    `json:"user_id"`
	UserName   string    `json:"user"`
	Action     string    `json:"action"`
	RecordKind string    `json:"record_kind"`
	RecordID   string    `json:"record_id"`
	Fields     []string  `json:"fields"`
	Reason     string    `json:"reason"`
	RequestID  string    `json:"request_id"`
}

const readAuditSQL = `SELECT id, at, user_id, user_name, action, record_kind, record_id, fields, reason, request_id
	FROM audit_log WHERE at >= $1 ORDER BY at DESC, id DESC LIMIT $2`

// ReadAudit returns the newest entries since a time. It runs in the caller's
// scoped transaction: the database answers auditors only.
func ReadAudit(ctx context.Context, db scope.DB, since time.Time, limit int) ([]AuditEntry, error) {
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	rows, err := db.Query(ctx, readAuditSQL, since, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := r.Scan(&e.ID, &e.At, &e.UserID, &e.UserName, &e.Action, &e.RecordKind, &e.RecordID, &e.Fields, &e.Reason, &e.RequestID)
		return e, err
	})
}
