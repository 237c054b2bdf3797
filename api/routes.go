package api

// routes registers every route of the server; keep them all here so the whole
// HTTP surface reads in one place.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /api/v1/stats", s.handleStats)
	s.mux.HandleFunc("GET /api/v1/hotspots", s.handleHotspots)
	s.mux.HandleFunc("GET /api/v1/hotspots/emerging", s.handleHotspotsEmerging)
	s.mux.HandleFunc("GET /api/v1/hotspots/latest", s.handleHotspotsLatest)
	s.mux.HandleFunc("GET /api/v1/hotspots/alerts", s.handleHotspotAlerts)

	// Vector tiles (package tiles): y carries .pbf or .mvt, {file} is {layer}.json.
	s.mux.HandleFunc("GET /tiles/{layer}/{z}/{x}/{y}", s.handleTile)
	s.mux.HandleFunc("GET /tiles/{file}", s.handleTileFile)
	s.mux.HandleFunc("GET /tiles.json", s.handleTileJSONAll)
	s.mux.HandleFunc("GET /styles/command-center.json", s.handleStyle)
}
