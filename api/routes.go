package api

import "net/http"

// route is one entry of the HTTP surface.
type route struct {
	pattern string
	handler func(*Server) http.HandlerFunc
}

// apiRoutes is every route of the server; keep them all here so the whole HTTP
// surface reads in one place. Routes under /api/v1 are documented in openapi.json
// (a test checks that each one is).
var apiRoutes = []route{
	{"GET /healthz", func(s *Server) http.HandlerFunc { return s.handleHealth }},
	{"GET /api/v1/stats", func(s *Server) http.HandlerFunc { return s.handleStats }},

	// The command-centre page's own: live events, start-up data, a clicked
	// building, the event loop's open/overdue counts.
	{"GET /api/v1/stream", func(s *Server) http.HandlerFunc { return s.handleStream }},
	{"GET /api/v1/overview", func(s *Server) http.HandlerFunc { return s.handleOverview }},
	{"GET /api/v1/buildings/{id}", func(s *Server) http.HandlerFunc { return s.handleBuilding }},
	{"GET /api/v1/events/summary", func(s *Server) http.HandlerFunc { return s.handleEventSummary }},
	{"GET /api/v1/openapi.json", func(s *Server) http.HandlerFunc { return s.handleOpenAPI }},

	{"GET /api/v1/locate", func(s *Server) http.HandlerFunc { return s.handleLocate }},

	{"GET /api/v1/addresses", func(s *Server) http.HandlerFunc { return s.handleAddressSearch }},
	{"GET /api/v1/addresses/near", func(s *Server) http.HandlerFunc { return s.handleAddressNear }},
	{"GET /api/v1/addresses/{id}", func(s *Server) http.HandlerFunc { return s.handleAddress }},

	{"GET /api/v1/features/{collection}", func(s *Server) http.HandlerFunc { return s.handleFeatures }},
	{"POST /api/v1/features/{collection}", func(s *Server) http.HandlerFunc { return s.handleFeatures }},

	{"POST /api/v1/aggregates", func(s *Server) http.HandlerFunc { return s.handleAggregates }},

	{"GET /api/v1/grids/out-of-band", func(s *Server) http.HandlerFunc { return s.handleOutOfBand }},
	{"GET /api/v1/grids/{code}/load", func(s *Server) http.HandlerFunc { return s.handleGridLoad }},

	// Hotspots (package hotspot): Gi* and emerging hot spots over H3 cells, alerts.
	{"GET /api/v1/hotspots", func(s *Server) http.HandlerFunc { return s.handleHotspots }},
	{"GET /api/v1/hotspots/emerging", func(s *Server) http.HandlerFunc { return s.handleHotspotsEmerging }},
	{"GET /api/v1/hotspots/latest", func(s *Server) http.HandlerFunc { return s.handleHotspotsLatest }},
	{"GET /api/v1/hotspots/alerts", func(s *Server) http.HandlerFunc { return s.handleHotspotAlerts }},

	// Vector tiles (package tiles): y carries .pbf or .mvt, {file} is {layer}.json.
	{"GET /tiles/{layer}/{z}/{x}/{y}", func(s *Server) http.HandlerFunc { return s.handleTile }},
	{"GET /tiles/{file}", func(s *Server) http.HandlerFunc { return s.handleTileFile }},
	{"GET /tiles.json", func(s *Server) http.HandlerFunc { return s.handleTileJSONAll }},
	{"GET /styles/command-center.json", func(s *Server) http.HandlerFunc { return s.handleStyle }},

	// OGC API – Features Part 1 Core.
	{"GET /ogc", func(s *Server) http.HandlerFunc { return s.handleOGCLanding }},
	{"GET /ogc/{$}", func(s *Server) http.HandlerFunc { return s.handleOGCLanding }},
	{"GET /ogc/conformance", func(s *Server) http.HandlerFunc { return s.handleOGCConformance }},
	{"GET /ogc/collections", func(s *Server) http.HandlerFunc { return s.handleOGCCollections }},
	{"GET /ogc/collections/{id}", func(s *Server) http.HandlerFunc { return s.handleOGCCollection }},
	{"GET /ogc/collections/{id}/items", func(s *Server) http.HandlerFunc { return s.handleOGCItems }},
	{"GET /ogc/collections/{id}/items/{featureId}", func(s *Server) http.HandlerFunc { return s.handleOGCItem }},

	// The command-centre page (web/), embedded in the binary.
	{"GET /{$}", func(s *Server) http.HandlerFunc { return s.handleIndex }},
	{"GET /assets/{file}", func(s *Server) http.HandlerFunc { return s.handleAsset }},
}

func (s *Server) routes() {
	for _, rt := range apiRoutes {
		s.mux.HandleFunc(rt.pattern, rt.handler(s))
	}
}
