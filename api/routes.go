package api

// routes registers every route of the server; keep them all here so the whole
// HTTP surface reads in one place.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /api/v1/stats", s.handleStats)
}
