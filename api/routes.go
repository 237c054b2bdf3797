package api

// routes registers every route of the server; keep them all here so the whole
// HTTP surface reads in one place.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /api/v1/stats", s.handleStats)
	s.mux.HandleFunc("GET /api/v1/stream", s.handleStream)
	s.mux.HandleFunc("GET /api/v1/overview", s.handleOverview)
	s.mux.HandleFunc("GET /api/v1/buildings/{id}", s.handleBuilding)
	s.mux.HandleFunc("GET /api/v1/events/summary", s.handleEventSummary)

	// The command-centre page (web/), embedded in the binary.
	s.mux.HandleFunc("GET /{$}", s.handleIndex)
	s.mux.HandleFunc("GET /assets/{file}", s.handleAsset)

	// Vector tiles (package tiles): y carries .pbf or .mvt, {file} is {layer}.json.
	s.mux.HandleFunc("GET /tiles/{layer}/{z}/{x}/{y}", s.handleTile)
	s.mux.HandleFunc("GET /tiles/{file}", s.handleTileFile)
	s.mux.HandleFunc("GET /tiles.json", s.handleTileJSONAll)
	s.mux.HandleFunc("GET /styles/command-center.json", s.handleStyle)
}
