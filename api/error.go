package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/hotspot"
	"github.com/onegrid/onegrid/limit"
	qry "github.com/onegrid/onegrid/query"
)

// Error is an error the client may see: an HTTP status, a stable code and a safe
// message (for bad input it names the parameter and the problem).
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfter, in seconds, is sent as the Retry-After header (429).
	RetryAfter int `json:"-"`
}

func (e *Error) Error() string { return e.Message }

// BadRequest is a 400 naming the parameter at fault.
func BadRequest(param, problem string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_parameter", Message: param + ": " + problem}
}

// NotFound is a 404.
func NotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: what + " not found"}
}

// errorStatus is the one mapping of errors to what the client sees. Only the
// errors listed carry their own safe message; everything else becomes
// "internal error" with the request id, and the real error goes to the log.
func errorStatus(err error) *Error {
	var e *Error
	var pe *qry.ParamError
	var hpe *hotspot.ParamError
	var pol *auth.PolicyError
	var mbe *http.MaxBytesError
	var lim *limit.Refused
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &pe):
		return BadRequest(pe.Param, pe.Problem)
	case errors.As(err, &hpe):
		return BadRequest(hpe.Param, hpe.Problem)
	case errors.As(err, &pol):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_parameter", Message: pol.Problem}
	case errors.Is(err, auth.ErrUnauthenticated):
		return &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "log in (POST /api/v1/session) or send an API token (Authorization: Bearer …)"}
	case errors.Is(err, auth.ErrBadCredentials):
		return &Error{Status: http.StatusUnauthorized, Code: "bad_credentials", Message: auth.ErrBadCredentials.Error()}
	case errors.Is(err, auth.ErrPasswordChange):
		return &Error{Status: http.StatusForbidden, Code: "password_change_required", Message: "change your password first (POST /api/v1/session/password)"}
	case errors.Is(err, auth.ErrForbidden):
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: auth.ErrForbidden.Error()}
	case errors.As(err, &lim):
		return &Error{Status: http.StatusTooManyRequests, Code: "too_many_requests", Message: lim.Problem, RetryAfter: int(lim.RetryAfter / time.Second)}
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("body: larger than %d bytes", mbe.Limit)}
	case errors.Is(err, qry.ErrNoDataKey):
		return &Error{Status: http.StatusServiceUnavailable, Code: "no_data_key", Message: qry.ErrNoDataKey.Error()}
	case errors.Is(err, qry.ErrDataKey):
		return &Error{Status: http.StatusServiceUnavailable, Code: "data_key", Message: qry.ErrDataKey.Error()}
	case errors.Is(err, qry.ErrNotFound):
		return NotFound("resource")
	case errors.Is(err, pgx.ErrNoRows):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: "timeout", Message: "the query took too long; narrow it and try again"}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57014": // query_canceled: statement_timeout
			return &Error{Status: http.StatusServiceUnavailable, Code: "timeout", Message: "the query took too long; narrow it and try again"}
		case "42501": // insufficient_privilege: a grant or a row-level security check said no
			return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "not allowed in your jurisdiction or for your roles"}
		case "23505", "23P01", "40001", "40P01": // unique, exclusion, serialization, deadlock
			return &Error{Status: http.StatusConflict, Code: "conflict", Message: "the change conflicts with another; reload and try again"}
		case "23514", "22023": // check_violation, invalid_parameter_value (raised by the schema's functions)
			return &Error{Status: http.StatusBadRequest, Code: "invalid_parameter", Message: "the request breaks a rule of the data"}
		case "02000", "P0002": // no_data_found (raised by the schema's functions)
			return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
		}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

// fail writes err to the client and logs what the client must not see.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && !errors.Is(err, errBodyTimeout) {
		// The client went away; nobody is listening. Its query failed with the
		// context's error or, cancelled by the server, with 57014. (A body that
		// missed its read deadline also ends the context, but that client is
		// still there, and is told.)
		return
	}
	e := errorStatus(err)
	if e.Status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", RequestID(r.Context())), slog.String("route", r.Pattern), slog.Any("error", err))
	}
	writeError(w, r, e)
}

func writeError(w http.ResponseWriter, r *http.Request, e *Error) {
	body := struct {
		Error     *Error `json:"error"`
		RequestID string `json:"request_id,omitempty"`
	}{e, RequestID(r.Context())}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Del("Content-Encoding")
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(body)
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
