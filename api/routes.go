package api

import (
	"net/http"

	"github.com/onegrid/onegrid/scope"
)

// route is one entry of the HTTP surface, with its scope rule and its cost.
type route struct {
	pattern string
	handler func(*Server) http.HandlerFunc
	access  access
	cost    cost
}

// cost says whether a route is held to the per-identity rate and concurrency
// limits (Config.Limits). Every route states one; a route that can keep the
// database busy for more than a moment (a whole-area count, a page of features,
// a text search, a hotspot analysis) is heavy.
type cost int

const (
	light cost = iota + 1
	heavy
)

// access is a route's scope rule: who may call it. What it then answers is
// narrowed further by the caller's jurisdiction, in the database (row-level
// security) and in the handler. Every route states one (the isolation matrix
// test fails on a route without a rule it knows).
type access struct {
	// open routes need no identity: the page and its assets, health, the API
	// description, logging in.
	open bool
	// need is the capability the caller's roles must allow (scope.Can*); "" is
	// any authenticated caller.
	need string
	// session routes stay open to a user who must change their password first.
	session bool
}

var (
	open       = access{open: true}
	anyone     = access{}
	rows       = access{need: scope.CanRows}
	aggregates = access{need: scope.CanAggregates}
	households = access{need: scope.CanHouseholds}
	unmasking  = access{need: scope.CanPersonal}
	auditing   = access{need: scope.CanAudit}
	users      = access{need: scope.CanUsers}
	session    = access{session: true}
)

// apiRoutes is every route of the server; keep them all here so the whole HTTP
// surface reads in one place. Routes under /api/v1 are documented in openapi.json
// (a test checks that each one is).
var apiRoutes = []route{
	{"GET /healthz", func(s *Server) http.HandlerFunc { return s.handleHealth }, open, light},
	{"GET /api/v1/stats", func(s *Server) http.HandlerFunc { return s.handleStats }, users, heavy},

	// The command-centre page's own: live events, start-up data, a clicked
	// building, the event loop's open/overdue counts.
	{"GET /api/v1/stream", func(s *Server) http.HandlerFunc { return s.handleStream }, rows, light},
	{"GET /api/v1/overview", func(s *Server) http.HandlerFunc { return s.handleOverview }, anyone, light},
	{"GET /api/v1/buildings/{id}", func(s *Server) http.HandlerFunc { return s.handleBuilding }, rows, light},
	{"GET /api/v1/events/summary", func(s *Server) http.HandlerFunc { return s.handleEventSummary }, rows, heavy},
	{"GET /api/v1/openapi.json", func(s *Server) http.HandlerFunc { return s.handleOpenAPI }, open, light},

	// Identity (package auth): the web session (log in, who am I, log out,
	// change the password) and the audit log.
	{"POST /api/v1/session", func(s *Server) http.HandlerFunc { return s.handleLogin }, open, light},
	{"GET /api/v1/session", func(s *Server) http.HandlerFunc { return s.handleSession }, session, light},
	{"DELETE /api/v1/session", func(s *Server) http.HandlerFunc { return s.handleLogout }, session, light},
	{"POST /api/v1/session/password", func(s *Server) http.HandlerFunc { return s.handlePassword }, session, light},
	{"GET /api/v1/audit", func(s *Server) http.HandlerFunc { return s.handleAudit }, auditing, light},

	// Households, for those who serve them; unmasking their personal fields
	// with a reason (audited).
	{"GET /api/v1/households", func(s *Server) http.HandlerFunc { return s.handleHouseholds }, households, heavy},
	{"POST /api/v1/households/{id}/unmask", func(s *Server) http.HandlerFunc { return s.handleUnmask }, unmasking, light},

	{"GET /api/v1/locate", func(s *Server) http.HandlerFunc { return s.handleLocate }, rows, light},

	{"GET /api/v1/addresses", func(s *Server) http.HandlerFunc { return s.handleAddressSearch }, rows, heavy},
	{"GET /api/v1/addresses/near", func(s *Server) http.HandlerFunc { return s.handleAddressNear }, rows, light},
	{"GET /api/v1/addresses/{id}", func(s *Server) http.HandlerFunc { return s.handleAddress }, rows, light},

	{"GET /api/v1/features/{collection}", func(s *Server) http.HandlerFunc { return s.handleFeatures }, rows, heavy},
	{"POST /api/v1/features/{collection}", func(s *Server) http.HandlerFunc { return s.handleFeatures }, rows, heavy},

	{"POST /api/v1/aggregates", func(s *Server) http.HandlerFunc { return s.handleAggregates }, aggregates, heavy},

	{"GET /api/v1/grids/out-of-band", func(s *Server) http.HandlerFunc { return s.handleOutOfBand }, aggregates, heavy},
	{"GET /api/v1/grids/{code}/load", func(s *Server) http.HandlerFunc { return s.handleGridLoad }, aggregates, heavy},

	// Hotspots (package hotspot): Gi* and emerging hot spots over H3 cells, alerts.
	{"GET /api/v1/hotspots", func(s *Server) http.HandlerFunc { return s.handleHotspots }, aggregates, heavy},
	{"GET /api/v1/hotspots/emerging", func(s *Server) http.HandlerFunc { return s.handleHotspotsEmerging }, aggregates, heavy},
	{"GET /api/v1/hotspots/latest", func(s *Server) http.HandlerFunc { return s.handleHotspotsLatest }, aggregates, light},
	{"GET /api/v1/hotspots/alerts", func(s *Server) http.HandlerFunc { return s.handleHotspotAlerts }, aggregates, light},

	// Vector tiles (package tiles): y carries .pbf or .mvt, {file} is {layer}.json.
	{"GET /tiles/{layer}/{z}/{x}/{y}", func(s *Server) http.HandlerFunc { return s.handleTile }, anyone, light},
	{"GET /tiles/{file}", func(s *Server) http.HandlerFunc { return s.handleTileFile }, anyone, light},
	{"GET /tiles.json", func(s *Server) http.HandlerFunc { return s.handleTileJSONAll }, anyone, light},
	{"GET /styles/command-center.json", func(s *Server) http.HandlerFunc { return s.handleStyle }, anyone, light},

	// OGC API – Features Part 1 Core.
	{"GET /ogc", func(s *Server) http.HandlerFunc { return s.handleOGCLanding }, anyone, light},
	{"GET /ogc/{$}", func(s *Server) http.HandlerFunc { return s.handleOGCLanding }, anyone, light},
	{"GET /ogc/conformance", func(s *Server) http.HandlerFunc { return s.handleOGCConformance }, anyone, light},
	{"GET /ogc/collections", func(s *Server) http.HandlerFunc { return s.handleOGCCollections }, rows, heavy},
	{"GET /ogc/collections/{id}", func(s *Server) http.HandlerFunc { return s.handleOGCCollection }, rows, heavy},
	{"GET /ogc/collections/{id}/items", func(s *Server) http.HandlerFunc { return s.handleOGCItems }, rows, heavy},
	{"GET /ogc/collections/{id}/items/{featureId}", func(s *Server) http.HandlerFunc { return s.handleOGCItem }, rows, light},

	// The command-centre page (web/), embedded in the binary.
	{"GET /{$}", func(s *Server) http.HandlerFunc { return s.handleIndex }, open, light},
	{"GET /assets/{file}", func(s *Server) http.HandlerFunc { return s.handleAsset }, open, light},
}

func (s *Server) routes() {
	for _, rt := range apiRoutes {
		s.mux.HandleFunc(rt.pattern, s.guard(rt, rt.handler(s)))
	}
}
