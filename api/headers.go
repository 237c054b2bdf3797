package api

import (
	"net/http"
	"strings"
)

// Every response carries the security headers below (ServeHTTP sets them before
// any handler runs; the page replaces the policy and the frame rule with its
// own). An answer that depends on who asks — any route that is not open — is
// also made private to the browser that asked (privateCache).

// apiPolicy is the Content-Security-Policy of everything but the page: an API
// answer opened in a browser may load nothing, run nothing and be framed by
// nobody.
const apiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"

// hstsValue asks browsers to come back only over https for two years; sent
// when the public base URL is https.
const hstsValue = "max-age=63072000"

// The header values are shared slices set into each response's header map
// without allocating; nothing appends to them (Header.Add on these keys would
// copy, as their capacity equals their length).
var (
	hvNosniff  = []string{"nosniff"}
	hvReferrer = []string{"no-referrer"}
	hvDeny     = []string{"DENY"}
	hvPolicy   = []string{apiPolicy}
	hvHSTS     = []string{hstsValue}

	hvPrivateNoStore  = []string{"private, no-store"}
	hvVaryCredentials = []string{"Cookie", "Authorization"}
)

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders(h http.Header) {
	h["X-Content-Type-Options"] = hvNosniff
	h["Referrer-Policy"] = hvReferrer
	h["X-Frame-Options"] = hvDeny
	h["Content-Security-Policy"] = hvPolicy
	if s.https {
		h["Strict-Transport-Security"] = hvHSTS
	}
}

// privateCache makes an answer that depends on the caller's identity
// unshareable: Cache-Control private (no-store when the handler said nothing;
// a handler's max-age and revalidation are kept, so the browser that asked
// may reuse its own tiles), and Vary: Cookie, Authorization, so that no cache
// hands one user's answer to another request.
func privateCache(h http.Header) {
	if len(h["Cache-Control"]) == 0 && len(h["Vary"]) == 0 {
		// The common answer, said without allocating.
		h["Cache-Control"] = hvPrivateNoStore
		h["Vary"] = hvVaryCredentials
		return
	}
	cc := h.Get("Cache-Control")
	switch {
	case cc == "":
		h.Set("Cache-Control", "private, no-store")
	case hasToken(cc, "no-store") || hasToken(cc, "private"):
	default:
		parts := []string{"private"}
		for d := range strings.SplitSeq(cc, ",") {
			if d = strings.TrimSpace(d); d != "" && !strings.EqualFold(d, "public") && !strings.HasPrefix(strings.ToLower(d), "s-maxage") {
				parts = append(parts, d)
			}
		}
		h.Set("Cache-Control", strings.Join(parts, ", "))
	}
	vary := h.Values("Vary")
	for _, v := range []string{"Cookie", "Authorization"} {
		if !hasToken(strings.Join(vary, ","), v) {
			h.Add("Vary", v)
		}
	}
}

// hasToken reports whether a comma-separated header value lists token (any
// case, parameters after '=' ignored).
func hasToken(value, token string) bool {
	for part := range strings.SplitSeq(value, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		if strings.EqualFold(strings.TrimSpace(name), token) {
			return true
		}
	}
	return false
}
