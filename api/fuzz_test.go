package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/internal/pgtest"
)

// Fuzz tests of what the HTTP layer parses itself: the login form, the text
// of JSON bodies, query strings and path segments, X-Forwarded-For, the CSV
// cells it writes, and the credentials (session cookie, Authorization header)
// of every request. Seeds are in testdata/fuzz as well as below.

// badRequest reports whether err is answered with a 400 naming a parameter.
func badRequest(err error) bool {
	e := errorStatus(err)
	return e.Status == 400 && e.Code == "invalid_parameter" && strings.Contains(e.Message, ": ") && !strings.HasPrefix(e.Message, ": ")
}

// cleanText reports whether s is text PostgreSQL takes.
func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

func FuzzLoginForm(f *testing.F) {
	for _, s := range []string{`{"name":"admin","password":"onegrid-demo"}`, `{"name":"admin\u0000","password":"x"}`,
		"{\"name\":\"\xff\",\"password\":\"x\"}", `{"name":"a","password":"b","extra":1}`, `{"NAME":"a"}`, `{"name":1}`,
		`{"name":"a"} {"name":"b"}`, `[]`, ``, `null`, `{"name":"\\u0000"}`} {
		f.Add("application/json", []byte(s))
	}
	f.Add("application/json; charset=utf-8", []byte(`{"name":"wang","password":"p"}`))
	f.Add("text/plain", []byte(`{"name":"wang","password":"p"}`))
	f.Add("application/x-www-form-urlencoded", []byte(`name=wang&password=p`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		var lf loginForm
		err := parseJSONBody(ct, body, &lf)
		if err != nil {
			if !badRequest(err) {
				t.Fatalf("parseJSONBody(%q, %q): %v", ct, body, err)
			}
			return
		}
		// Accepted: the media type is JSON, the body one object of at most a
		// name and a password, and both strings text the database takes.
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			t.Fatalf("accepted Content-Type %q", ct)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil && !bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
			t.Fatalf("accepted %q, which is not one JSON object: %v", body, err)
		}
		for k := range m {
			if !strings.EqualFold(k, "name") && !strings.EqualFold(k, "password") {
				t.Fatalf("accepted %q with member %q", body, k)
			}
		}
		if !cleanText(lf.Name) || !cleanText(lf.Password) {
			t.Fatalf("accepted %q: name %q, password %q", body, lf.Name, lf.Password)
		}
	})
}

// jsonStrings calls fn with every member name and string of v.
func jsonStrings(v any, fn func(string)) {
	switch v := v.(type) {
	case string:
		fn(v)
	case map[string]any:
		for k, x := range v {
			fn(k)
			jsonStrings(x, fn)
		}
	case []any:
		for _, x := range v {
			jsonStrings(x, fn)
		}
	}
}

func FuzzJSONText(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":"\u0000"}`, `{"a\u0000":1}`, `["x",{"y":["\u0000"]}]`, "{\"a\":\"\xff\"}",
		"{\"\xc3\":1}", `"\u0000"`, `{"a":"\\u0000"}`, `{"a":[1,2,{"b":null,"c":"\u0000"}]}`, `{"a":`, `{"a":"\u0000"`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkJSONText(body)
		if err != nil && !badRequest(err) {
			t.Fatalf("checkJSONText(%q): %v", body, err)
		}
		if !json.Valid(body) {
			return // its parser says why; a problem found before may be reported
		}
		// Valid JSON can hold bytes that are not UTF-8 only inside strings.
		bad := !utf8.Valid(body)
		var v any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("json.Valid but %v", err)
		}
		jsonStrings(v, func(s string) {
			if strings.ContainsRune(s, 0) {
				bad = true
			}
		})
		if bad != (err != nil) {
			t.Fatalf("checkJSONText(%q) = %v; holds bad text: %v", body, err, bad)
		}
	})
}

func FuzzRequestText(f *testing.F) {
	for _, s := range [][2]string{{"q=a", "1"}, {"q=%00", "1"}, {"q=%ff", "1"}, {"%00=1", "1"}, {"q=%zz", "1"}, {"a=1;b=2", "1"},
		{"q=%E7%A6%8F%E7%94%B0", "%E7%A6%8F"}, {"", "%00"}, {"", "%C3"}, {"q=a&q=b", "x%2Fy"}} {
		f.Add(s[0], s[1])
	}
	mux := http.NewServeMux()
	var got error
	mux.HandleFunc("GET /a/{id}", func(w http.ResponseWriter, r *http.Request) { got = checkRequestText(r, []string{"id"}) })
	f.Fuzz(func(t *testing.T, rawQuery, rawSegment string) {
		if strings.ContainsAny(rawSegment, "/?#") || rawSegment == "" {
			return
		}
		u := &url.URL{Path: "/a/x", RawPath: "", RawQuery: rawQuery}
		seg, err := url.PathUnescape(rawSegment)
		if err != nil || strings.Contains(seg, "/") {
			return
		}
		u.Path = "/a/" + seg
		got = errors.New("not routed")
		mux.ServeHTTP(httptest.NewRecorder(), &http.Request{Method: "GET", URL: u, Header: http.Header{}})
		if got != nil && got.Error() == "not routed" {
			return // the mux redirected or refused the path (a cleaned path): not ours
		}
		// What the check must find, reckoned independently.
		q, perr := url.ParseQuery(rawQuery)
		bad := perr != nil || !cleanText(seg)
		for k, vs := range q {
			if !cleanText(k) {
				bad = true
			}
			for _, v := range vs {
				if !cleanText(v) {
					bad = true
				}
			}
		}
		if bad != (got != nil) || got != nil && !badRequest(got) {
			t.Fatalf("query %q, segment %q: %v (bad text: %v)", rawQuery, seg, got, bad)
		}
	})
}

func FuzzForwardedClient(f *testing.F) {
	for _, s := range [][3]string{{"127.0.0.1", "203.0.113.5", "127.0.0.1/32"}, {"10.0.0.2", "203.0.113.5, 10.0.0.1", "10.0.0.0/8"},
		{"10.0.0.2", "garbage, 10.0.0.1", "10.0.0.0/8"}, {"::1", "[2001:db8::1]:443", "::1/128"}, {"192.0.2.1", "203.0.113.5", "10.0.0.0/8"},
		{"10.0.0.1", "", "10.0.0.0/8"}, {"10.0.0.1", "10.0.0.3,10.0.0.4", "10.0.0.0/8"}, {"::ffff:10.0.0.1", "fe80::1%eth0", "10.0.0.0/8"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, peerS, xff, trustedS string) {
		peer, err := netip.ParseAddr(peerS)
		if err != nil || peer.Zone() != "" {
			return
		}
		peer = peer.Unmap()
		var trusted []netip.Prefix
		for p := range strings.SplitSeq(trustedS, ",") {
			if pp, err := netip.ParsePrefix(strings.TrimSpace(p)); err == nil {
				trusted = append(trusted, pp.Masked())
			}
		}
		got := forwardedClient(peer, []string{xff}, trusted)
		if !got.IsValid() {
			t.Fatalf("forwardedClient(%s, %q) is not an address", peer, xff)
		}
		if !isTrusted(peer, trusted) {
			if got != peer {
				t.Fatalf("untrusted peer %s, got %s", peer, got)
			}
			return
		}
		// got is the peer or a hop; every hop to its right is a trusted proxy.
		hops := strings.Split(xff, ",")
		if got == peer {
			return
		}
		for i := len(hops) - 1; i >= 0; i-- {
			a, ok := parseHop(hops[i])
			if !ok {
				t.Fatalf("walked past %q to %s", hops[i], got)
			}
			if a == got {
				return
			}
			if !isTrusted(a, trusted) {
				t.Fatalf("walked past untrusted %s to %s", a, got)
			}
		}
		t.Fatalf("%s is neither the peer nor a hop of %q", got, xff)
	})
}

func FuzzCSVText(f *testing.F) {
	for _, s := range []string{"=1+1", "+1", "-1", "-1.5", "@x", "\tx", "\rx", "plain", "福田区", "-", "+", "-1e3", "\"=1\"", "a,b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := csvText(s)
		if out != s && out != "'"+s {
			t.Fatalf("csvText(%q) = %q", s, out)
		}
		if out != "" && strings.ContainsRune("=+-@\t\r", rune(out[0])) {
			// Only a number may start so, and a spreadsheet reads it as one.
			if _, err := strconv.ParseFloat(out, 64); err != nil || strings.ContainsAny(out, "eEinfINFxX_") {
				t.Fatalf("csvText(%q) = %q starts a formula", s, out)
			}
		}
		// The cell survives CSV encoding as it is.
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		_ = w.Write([]string{out, "x"})
		w.Flush()
		rec, err := csv.NewReader(&b).Read()
		if err == nil && utf8.ValidString(out) && !strings.Contains(out, "\r") && rec[0] != out {
			t.Fatalf("csvText(%q) = %q reads back as %q", s, out, rec[0])
		}
	})
}

// FuzzCredentials sends a request to a route that needs an identity with any
// Authorization header and Cookie header, through the whole server on a real
// database: the answer is always 401 (no fuzzed value is a live session or
// token; malformed ones never reach the database, well-formed ones are looked
// up and not found), never an error, and the log never holds the value.
func FuzzCredentials(f *testing.F) {
	owner, app := pgtest.Pair(f)
	_ = owner
	var logBuf syncBuffer
	s := New(Config{Auth: auth.NewAuthenticator(app, auth.Config{})}, app, slog.New(slog.NewTextHandler(&logBuf, nil)))
	f.Cleanup(s.Close)
	secret := "R3JpZCBzZXNzaW9uIHZhbHVlIG9mIDQzIGNoYXJzLi4"
	for _, s := range [][2]string{{"", ""}, {"Bearer ogt_" + secret, ""}, {"Bearer " + secret, ""}, {"Basic YWRtaW46eA==", ""},
		{"", "onegrid_session=" + secret}, {"", "onegrid_session=" + secret[:40]}, {"", `onegrid_session="` + secret + `"`},
		{"", "a=b; onegrid_session=" + secret + "; onegrid_session=x"}, {"Bearer ", "onegrid_session="}, {"bearer ogt_" + secret, ""},
		{"Bearer ogt_" + secret + "\x00", ""}, {"", "onegrid_session=\xff\xfe"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, authorization, cookie string) {
		logBuf.mu.Lock()
		logBuf.b.Reset()
		logBuf.mu.Unlock()
		r := httptest.NewRequest("GET", "/api/v1/session", nil)
		if authorization != "" {
			r.Header["Authorization"] = []string{authorization}
		}
		if cookie != "" {
			r.Header["Cookie"] = []string{cookie}
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		var e apiError
		_ = json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != http.StatusUnauthorized || e.Error.Code != "unauthenticated" || w.Header().Get("WWW-Authenticate") == "" {
			t.Fatalf("Authorization %q, Cookie %q: %d %s", authorization, cookie, w.Code, w.Body)
		}
		out := logBuf.String()
		for _, v := range []string{authorization, cookie} {
			if len(v) >= 12 && strings.Contains(out, v) {
				t.Fatalf("the log holds %q: %s", v, out)
			}
		}
	})
}
