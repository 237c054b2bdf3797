package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: RFC 9106's second recommended option (64 MiB, three
// passes), with four lanes. A check takes about 60 ms on one core of the
// reference machine, which is what a login costs; requests after it use the
// session.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 4
	argonKeyLen  = 32
	argonSaltLen = 16
)

// MinPasswordLength is the shortest password a user may choose.
const MinPasswordLength = 10

// HashPassword returns the Argon2id PHC string of a password.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return phc{memory: argonMemory, time: argonTime, threads: argonThreads, salt: salt, key: key}.String(), nil
}

var errBadHash = errors.New("not an Argon2id hash")

// checkPassword reports whether password matches an Argon2id PHC string.
func checkPassword(hash, password string) (bool, error) {
	h, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// phc is an Argon2id hash in the PHC string format:
// $argon2id$v=19$m=65536,t=3,p=4$<salt>$<key>, salt and key in unpadded base64.
type phc struct {
	memory    uint32 // KiB
	time      uint32 // passes
	threads   uint8  // lanes
	salt, key []byte
}

// Bounds of what checkPassword will compute: a stored hash outside them is
// refused rather than run (a corrupted m= could ask for terabytes).
const (
	phcMaxMemory = 1 << 21 // KiB: 2 GiB
	phcMaxTime   = 16
)

func (h phc) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.memory, h.time, h.threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parsePHC reads an Argon2id PHC string strictly: exactly the form String
// writes (version 19, the parameters in the order m, t, p as plain decimals,
// canonical unpadded base64), with parameters within bounds, salt 8..64 and
// key 16..64 bytes. Anything else is errBadHash.
func parsePHC(s string) (phc, error) {
	var h phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, errBadHash
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return h, errBadHash
	}
	m, okM := phcParam(params[0], "m=", phcMaxMemory)
	t, okT := phcParam(params[1], "t=", phcMaxTime)
	p, okP := phcParam(params[2], "p=", 255)
	if !okM || !okT || !okP {
		return h, errBadHash
	}
	h.memory, h.time, h.threads = uint32(m), uint32(t), uint8(p)
	var ok bool
	if h.salt, ok = phcBase64(parts[4]); !ok || len(h.salt) < 8 || len(h.salt) > 64 {
		return phc{}, errBadHash
	}
	if h.key, ok = phcBase64(parts[5]); !ok || len(h.key) < 16 || len(h.key) > 64 {
		return phc{}, errBadHash
	}
	return h, nil
}

// phcBase64 decodes canonical unpadded base64: what encodes back to s (the
// decoder itself skips line breaks and, unless strict, ignores stray bits).
func phcBase64(s string) ([]byte, bool) {
	b, err := base64.RawStdEncoding.DecodeString(s)
	return b, err == nil && base64.RawStdEncoding.EncodeToString(b) == s
}

// phcParam reads "name=N": N a decimal in 1..max without sign or leading zero.
func phcParam(s, name string, max uint64) (uint64, bool) {
	d, ok := strings.CutPrefix(s, name)
	if !ok || d == "" || len(d) > 10 || d[0] == '0' {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(d[i]-'0')
	}
	return n, n <= max
}

// dummyHash is checked against when a login names no user, so that a missing
// user and a wrong password take the same time.
var dummyHash, _ = HashPassword("onegrid: no such user")

// CheckPasswordPolicy says what is wrong with a new password ("" when nothing).
func CheckPasswordPolicy(password string) string {
	switch {
	case len([]rune(password)) < MinPasswordLength:
		return fmt.Sprintf("at least %d characters", MinPasswordLength)
	case len(password) > 1024:
		return "at most 1024 bytes"
	}
	return ""
}

// NewPassword returns a random password of 26 base32 characters (130 bits), in
// groups of five or six that are easy to copy.
func NewPassword() string {
	t := rand.Text()
	return t[:5] + "-" + t[5:10] + "-" + t[10:15] + "-" + t[15:20] + "-" + t[20:]
}
