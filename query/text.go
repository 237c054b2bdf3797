package query

import (
	"strings"
	"unicode/utf8"
)

// CheckText refuses text PostgreSQL cannot store or compare: a NUL character
// (text values cannot hold one; the server would answer with an error) and bytes
// that are not UTF-8. Every parser of free text calls it, and so does the HTTP
// layer for every query parameter, path segment and JSON string it is given.
func CheckText(param, s string) error {
	if !utf8.ValidString(s) {
		return paramErr(param, "not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return paramErr(param, "contains a NUL character")
	}
	return nil
}
