package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// TokenPrefix starts every API token, so that a token pasted where it does not
// belong is easy to find (secret scanners match it).
const TokenPrefix = "ogt_"

// newSecret returns 256 random bits, base64url-encoded.
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is what the database keeps of a token or session cookie.
func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// wellFormed reports whether s could be a secret made by newSecret (43 base64url
// characters), so that malformed input never reaches the database.
func wellFormed(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseToken returns the secret of an API token, ok false when it is not one.
func parseToken(token string) (string, bool) {
	s, ok := strings.CutPrefix(token, TokenPrefix)
	return s, ok && wellFormed(s)
}

// CSRFToken is the anti-forgery token of a session: an HMAC of the session's
// secret, which the page reads from GET /api/v1/session and sends back in the
// X-CSRF-Token header of every state-changing request. A cross-site page can
// make the browser send the cookie but cannot read this.
func CSRFToken(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("onegrid csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports whether token is the session's anti-forgery token.
func CheckCSRF(session, token string) bool {
	return subtle.ConstantTimeCompare([]byte(CSRFToken(session)), []byte(token)) == 1
}
