package api

import (
	_ "embed"
	"net/http"
)

// openapiJSON is the OpenAPI 3 definition of /api/v1 and /ogc, kept true to
// routes.go by TestOpenAPICoversRoutes.
//
//go:embed openapi.json
var openapiJSON []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.oai.openapi+json;version=3.0")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openapiJSON)
}
