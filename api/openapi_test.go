package api

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPICoversRoutes keeps openapi.json true to routes.go: every /api/v1 and
// /ogc route is documented with its method, and every documented path is routed.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	routed := map[string]bool{}
	for _, rt := range apiRoutes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.TrimSuffix(path, "{$}")
		path = strings.TrimSuffix(path, "/")
		if !strings.HasPrefix(path, "/api/v1") && !strings.HasPrefix(path, "/ogc") {
			continue
		}
		routed[strings.ToLower(method)+" "+path] = true
		ops, ok := doc.Paths[path]
		if !ok {
			t.Errorf("route %s is not in openapi.json", rt.pattern)
			continue
		}
		if _, ok := ops[strings.ToLower(method)]; !ok {
			t.Errorf("route %s: openapi.json lacks method %s", rt.pattern, method)
		}
		// Path parameters are declared.
		for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(path, -1) {
			params, _ := ops[strings.ToLower(method)]["parameters"].([]any)
			found := false
			for _, p := range params {
				if pm, ok := p.(map[string]any); ok && pm["name"] == m[1] && pm["in"] == "path" {
					found = true
				}
			}
			if !found {
				t.Errorf("route %s: path parameter %s undocumented", rt.pattern, m[1])
			}
		}
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(documented)
	for _, d := range documented {
		if !routed[d] {
			t.Errorf("openapi.json documents %s, which is not routed", d)
		}
	}
}
