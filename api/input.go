package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	qry "github.com/onegrid/onegrid/query"
)

// Text PostgreSQL cannot take — a NUL character, bytes that are not UTF-8 — is
// refused at the door with a 400 naming where it was: guard checks every query
// parameter and path segment of every route, and readBody every string of a
// JSON body, before a handler sees them. The parsers of free text in package
// query check it again (query.CheckText), for callers other than this server.

// wildcards lists the names of a route pattern's path wildcards.
func wildcards(pattern string) []string {
	var names []string
	for _, m := range wildcardRE.FindAllStringSubmatch(pattern, -1) {
		if m[1] != "$" {
			names = append(names, m[1])
		}
	}
	return names
}

var wildcardRE = regexp.MustCompile(`\{([^}.]+)(?:\.\.\.)?\}`)

// checkRequestText checks the query string and the path wildcards of r.
func checkRequestText(r *http.Request, wildcards []string) error {
	for _, name := range wildcards {
		if err := qry.CheckText(name, r.PathValue(name)); err != nil {
			return err
		}
	}
	if plainQuery(r.URL.RawQuery) {
		return nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		// url.ParseQuery's message quotes the input; say what is wrong instead.
		return BadRequest("query string", "malformed: a bad %-escape or a ';' between parameters")
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := qry.CheckText("parameter name "+quoteName(k), k); err != nil {
			return err
		}
		for _, v := range q[k] {
			if err := qry.CheckText(pathKey(k), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// plainQuery reports whether a raw query string is printable ASCII without
// escapes or ';': it then decodes to text without NUL (and parses), so the
// common query — a tile's time window, a page's filters — costs no parsing.
func plainQuery(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x21 || c > 0x7e || c == '%' || c == ';' {
			return false
		}
	}
	return true
}

// quoteName quotes a parameter name for a message: ASCII, at most 40 bytes.
func quoteName(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return strconv.QuoteToASCII(s)
}

// readBody reads a request body of at most limit bytes and checks its text
// (checkJSONText).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, err
	}
	if err := checkJSONText(body); err != nil {
		return nil, err
	}
	return body, nil
}

var nulEscape = []byte(`\u0000`)

// checkJSONText refuses a JSON body with a string (a member name or a value)
// that is not valid UTF-8 or holds a NUL character (written \u0000), naming
// the member where it is (polygons.features[0].id). encoding/json would
// quietly turn the first into U+FFFD and pass the second on to the database.
// Anything that is not JSON is left to the body's own parser to report.
func checkJSONText(body []byte) error {
	if utf8.Valid(body) && !bytes.Contains(body, nulEscape) {
		return nil // the common case: nothing to look for
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // a number too large for float64 must not end the walk
	var stack []*jsonFrame
	prev := int64(0)
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // not (or no more) JSON: its parser says why
		}
		end := dec.InputOffset()
		raw := body[prev:end]
		prev = end
		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, &jsonFrame{parent: top, object: t == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
				if len(stack) > 0 {
					stack[len(stack)-1].next()
				}
			}
			continue
		case string:
			isKey := top != nil && top.object && top.key == nil
			where := valuePath(top)
			if isKey {
				where = memberNamePath(top)
			}
			if !utf8.Valid(raw) {
				return BadRequest(where, "not valid UTF-8")
			}
			if strings.IndexByte(t, 0) >= 0 {
				return BadRequest(where, "contains a NUL character")
			}
			if isKey {
				top.key = &t
				continue
			}
		}
		top.next()
	}
}

// jsonFrame is an object or array being walked by checkJSONText. Paths are
// only built for a message: while a frame is open, its parent's member or
// element is where it lies.
type jsonFrame struct {
	parent *jsonFrame // nil at the top level
	object bool       // else an array
	key    *string    // objects: the member whose value comes next
	n      int        // arrays: elements read so far
}

// next moves past a value: an object then expects a member name, an array its
// next element. The top level (nil) has nothing to move.
func (f *jsonFrame) next() {
	switch {
	case f == nil:
	case f.object:
		f.key = nil
	default:
		f.n++
	}
}

// path is where frame f lies: "" at the top level.
func (f *jsonFrame) path() string {
	if f.parent == nil {
		return ""
	}
	return valuePath(f.parent)
}

// valuePath names where the next value of f lies: its member or element.
func valuePath(f *jsonFrame) string {
	if f == nil {
		return "body"
	}
	switch p := f.path(); {
	case f.object && f.key != nil && p == "":
		return pathKey(*f.key)
	case f.object && f.key != nil:
		return p + "." + pathKey(*f.key)
	case f.object:
		return memberNamePath(f)
	case p == "":
		return "body[" + strconv.Itoa(f.n) + "]"
	default:
		return p + "[" + strconv.Itoa(f.n) + "]"
	}
}

// memberNamePath names a member name of object f.
func memberNamePath(f *jsonFrame) string {
	if p := f.path(); p != "" {
		return p + " (a member name)"
	}
	return "body (a member name)"
}

// pathKey is a member or parameter name as a message shows it: "" when
// empty, cut after 40 bytes.
func pathKey(k string) string {
	if k == "" {
		return `""`
	}
	if len(k) > 40 {
		cut := 40
		for cut > 0 && !utf8.RuneStart(k[cut]) {
			cut--
		}
		return k[:cut] + "…"
	}
	return k
}
