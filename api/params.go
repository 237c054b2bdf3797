package api

import (
	"net/url"
	"sort"
	"strings"
)

// checkParams rejects query parameters the handler does not know and repeated
// ones, so a typo is a 400 rather than a silently ignored filter.
func checkParams(q url.Values, known ...string) error {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !contains(known, k) {
			return BadRequest(k, "unknown parameter; known: "+strings.Join(known, ", "))
		}
		if len(q[k]) > 1 {
			return BadRequest(k, "given more than once")
		}
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
