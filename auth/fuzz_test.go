package auth

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// Fuzz tests of the parsers of what a client (or the database) hands the
// authenticator: the session cookie's value, the API token of the
// Authorization header and the stored Argon2id hash. Seeds are in
// testdata/fuzz as well as below.

// secretRE is what newSecret makes: 32 bytes in unpadded base64url.
var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func FuzzSessionCookie(f *testing.F) {
	for _, s := range []string{newSecret(), newSecret()[:42], newSecret() + "=", "", " ", strings.Repeat("A", 43),
		strings.Repeat("/", 43), "abc\x00def", strings.Repeat("é", 22)} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, cookie, csrf string) {
		ok := wellFormed(cookie)
		if ok != secretRE.MatchString(cookie) {
			t.Fatalf("wellFormed(%q) = %v", cookie, ok)
		}
		if !ok {
			return
		}
		if h := hashSecret(cookie); len(h) != 32 || !bytes.Equal(h, hashSecret(cookie)) {
			t.Fatalf("hashSecret(%q) = %x", cookie, h)
		}
		// The anti-forgery token of a session is accepted, nothing else is.
		want := CSRFToken(cookie)
		if !CheckCSRF(cookie, want) {
			t.Fatalf("CheckCSRF(%q, its own token) = false", cookie)
		}
		if csrf != want && CheckCSRF(cookie, csrf) {
			t.Fatalf("CheckCSRF(%q, %q) = true", cookie, csrf)
		}
	})
}

func FuzzToken(f *testing.F) {
	for _, s := range []string{TokenPrefix + newSecret(), newSecret(), TokenPrefix, TokenPrefix + newSecret()[:40],
		"ogt-" + newSecret(), "OGT_" + newSecret(), TokenPrefix + newSecret() + "\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		secret, ok := parseToken(token)
		want := strings.HasPrefix(token, TokenPrefix) && secretRE.MatchString(token[len(TokenPrefix):])
		if ok != want {
			t.Fatalf("parseToken(%q) ok = %v, want %v", token, ok, want)
		}
		if ok && TokenPrefix+secret != token {
			t.Fatalf("parseToken(%q) = %q", token, secret)
		}
	})
}

func FuzzPHC(f *testing.F) {
	h, err := HashPassword("seed password")
	if err != nil {
		f.Fatal(err)
	}
	small := phc{memory: 8, time: 1, threads: 1, salt: []byte("saltsalt"), key: bytes.Repeat([]byte{7}, 16)}.String()
	for _, s := range []string{h, small, dummyHash, "", "$argon2id$", "$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=065536,t=3,p=4$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=4294967296,t=3,p=4$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=65536,t=3,p=256$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$t=3,m=65536,p=4$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ=$a2V5a2V5a2V5a2V5a2V5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			if err != errBadHash {
				t.Fatalf("parsePHC(%q): %v", s, err)
			}
			return
		}
		// Only the canonical form is accepted: what String writes back.
		if got := h.String(); got != s {
			t.Fatalf("parsePHC(%q) = %q", s, got)
		}
		if h.memory < 1 || h.memory > phcMaxMemory || h.time < 1 || h.time > phcMaxTime || h.threads < 1 ||
			len(h.salt) < 8 || len(h.salt) > 64 || len(h.key) < 16 || len(h.key) > 64 {
			t.Fatalf("parsePHC(%q) = %+v: out of bounds", s, h)
		}
		// A cheap hash is computed, and its own key matches: check it end to end.
		if h.memory <= 64 && h.time <= 2 {
			if ok, err := checkPassword(s, "x"); err != nil {
				t.Fatalf("checkPassword(%q): %v (ok %v)", s, err, ok)
			}
		}
	})
}

// TestPHCRoundTrip: a hash made by HashPassword checks its password and no other.
func TestPHCRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := checkPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("own password: %v %v", ok, err)
	}
	if ok, err := checkPassword(h, "correct horsf"); ok || err != nil {
		t.Fatalf("another password: %v %v", ok, err)
	}
	if _, err := checkPassword(strings.Replace(h, "t=3", "t=03", 1), "correct horse"); err != errBadHash {
		t.Fatalf("a non-canonical hash: %v", err)
	}
}

// TestValidName is the rule of app_user.name's CHECK constraint
// (schema/0700_identity.sql): ^[a-z0-9][a-z0-9._-]{0,62}$.
func TestValidName(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	for _, s := range []string{"admin", "wang.li", "a", "0a", "-a", ".a", "A", "wang\x00", "王", strings.Repeat("a", 63), strings.Repeat("a", 64), "a b", ""} {
		if got := validName(s); got != re.MatchString(s) {
			t.Errorf("validName(%q) = %v", s, got)
		}
	}
}
