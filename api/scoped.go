package api

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/hotspot"
	qry "github.com/onegrid/onegrid/query"
	"github.com/onegrid/onegrid/scope"
)

// scopeOf is the request's scope: its principal's, or nothing at all.
func scopeOf(r *http.Request) scope.Scope {
	if p := auth.FromContext(r.Context()); p != nil {
		return p.Scope
	}
	return scope.Scope{}
}

// inScope runs fn in one transaction that carries the caller's identity, bounded
// by the query timeout and cancelled when the client goes away: whatever fn
// asks, the database answers only inside the caller's jurisdiction.
func (s *Server) inScope(r *http.Request, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return s.runAs(r, scopeOf(r), fn)
}

func (s *Server) runAs(r *http.Request, sc scope.Scope, fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx, cancel := s.queryContext(r)
	defer cancel()
	return scope.Run(ctx, s.db, sc, func(tx pgx.Tx) error { return fn(ctx, tx) })
}

// query runs fn with the query package's store in the caller's scope. A read
// (GET, HEAD) sends each statement with the caller's identity in one round
// trip (scope.Read); anything else (an unmasking writes its audit record) runs
// in one scoped transaction.
func (s *Server) query(r *http.Request, fn func(ctx context.Context, q *qry.Store) error) error {
	sc := scopeOf(r)
	return s.store(r, r.Method == http.MethodGet || r.Method == http.MethodHead, sc, sc, fn)
}

// aggregate is query for handlers whose answers are disclosure-controlled counts
// (aggregates, grid loads, a building's households): the database reads the
// rows it counts, still only inside the caller's jurisdiction (scope.Aggregating).
// They only read, whatever the method (an aggregate is POSTed for its body).
func (s *Server) aggregate(r *http.Request, fn func(ctx context.Context, q *qry.Store) error) error {
	sc := scopeOf(r)
	return s.store(r, true, sc.Aggregating(), sc, fn)
}

// store runs fn with the database seeing the caller as dbScope and the store
// knowing the caller as sc: statement by statement when fn only reads
// (scope.Read), else in one transaction.
func (s *Server) store(r *http.Request, reads bool, dbScope, sc scope.Scope, fn func(ctx context.Context, q *qry.Store) error) error {
	ctx, cancel := s.queryContext(r)
	defer cancel()
	if reads {
		return scope.Read(ctx, s.db, dbScope, func(db scope.ReadDB) error { return fn(ctx, s.q.On(db, sc)) })
	}
	return scope.Run(ctx, s.db, dbScope, func(tx pgx.Tx) error { return fn(ctx, s.q.On(tx, sc)) })
}

// hotspots runs fn with the hotspot service on the caller's scoped transaction;
// an analysis counts events and households into statistics, as aggregate does.
func (s *Server) hotspots(r *http.Request, fn func(ctx context.Context, h *hotspot.Service) error) error {
	return s.runAs(r, scopeOf(r).Aggregating(), func(ctx context.Context, tx pgx.Tx) error { return fn(ctx, s.hot.On(tx)) })
}
