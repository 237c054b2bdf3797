// Package seal encrypts the clear personal values onegrid keeps
// (household_personal) with a data key held outside the database: AES-256-GCM,
// a random 96-bit nonce per value, the field's name as additional data (a value
// sealed as a phone number does not open as a name). A sealed value is
// nonce || ciphertext || tag.
//
// The key lives in a file (hex, 0600): `--data-key-file`, or by default one in
// the embedded database's data directory, created at first use. The database
// stores which key sealed a row (Key.ID: a hash of the key, not the key).
// Losing the file loses the clear values; the masked forms and hashes stay.
package seal

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the data key's length in bytes (AES-256).
const KeySize = 32

// NonceSize is the nonce's length at the start of a sealed value.
const NonceSize = 12

// Overhead is how much longer a sealed value is than its clear text.
const Overhead = NonceSize + 16

// Key is a data key.
type Key struct {
	aead cipher.AEAD
	id   string
}

// NewKey makes a key from KeySize raw bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("data key: %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(append([]byte("onegrid data key id\x00"), raw...))
	return &Key{aead: aead, id: hex.EncodeToString(h[:8])}, nil
}

// ID names the key (16 hex digits of a hash of it) in household_personal.key_id.
func (k *Key) ID() string { return k.id }

// Seal seals one value of a field with a fresh random nonce.
func (k *Key) Seal(field, clear string) []byte {
	var nonce [NonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return k.seal(nonce[:], field, clear)
}

func (k *Key) seal(nonce []byte, field, clear string) []byte {
	out := make([]byte, NonceSize, NonceSize+len(clear)+16)
	copy(out, nonce)
	return k.aead.Seal(out, nonce, []byte(clear), []byte(field))
}

// ErrOpen is returned for a sealed value that does not open with the key: a
// different key, another field's value, or a damaged value.
var ErrOpen = errors.New("sealed value does not open with this data key")

// Open opens a value sealed for field.
func (k *Key) Open(field string, sealed []byte) (string, error) {
	if len(sealed) < Overhead {
		return "", ErrOpen
	}
	clear, err := k.aead.Open(nil, sealed[:NonceSize], sealed[NonceSize:], []byte(field))
	if err != nil {
		return "", ErrOpen
	}
	return string(clear), nil
}

// Sealer seals many values from one goroutine, drawing nonces from a buffered
// random stream (a bulk load's millions of values cost no system call each).
type Sealer struct {
	k   *Key
	rnd *bufio.Reader
}

// Sealer returns a Sealer of the key; it is not safe for concurrent use.
func (k *Key) Sealer() *Sealer {
	return &Sealer{k: k, rnd: bufio.NewReaderSize(rand.Reader, 64<<10)}
}

// Seal seals one value of a field.
func (s *Sealer) Seal(field, clear string) []byte {
	var nonce [NonceSize]byte
	if _, err := io.ReadFull(s.rnd, nonce[:]); err != nil {
		panic(err)
	}
	return s.k.seal(nonce[:], field, clear)
}

// Generate returns a new random key's file contents.
func Generate() []byte {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		panic(err)
	}
	return []byte(hex.EncodeToString(raw) + "\n")
}

// Parse reads a key file's contents: 64 hex digits (surrounding space ignored).
func Parse(b []byte) (*Key, error) {
	s := strings.TrimSpace(string(b))
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != KeySize {
		return nil, fmt.Errorf("want %d hex digits", 2*KeySize)
	}
	return NewKey(raw)
}

// LoadFile reads a key file. It refuses a file others may read.
func LoadFile(path string) (*Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("data key file %s: mode %04o lets others read it; chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data key file: %w", err)
	}
	k, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("data key file %s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreate reads a key file, creating it (0600, a new random key) when it
// does not exist; created says it did.
func LoadOrCreate(path string) (k *Key, created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		k, err := LoadFile(path)
		return k, false, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("data key file: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("data key file: %w", err)
	}
	// Written whole under a temporary name, then linked into place: a concurrent
	// first use either links first or finds the complete file.
	f, err := os.CreateTemp(dir, ".datakey-*")
	if err != nil {
		return nil, false, fmt.Errorf("data key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("data key file: %w", err)
	}
	if _, err := f.Write(Generate()); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("data key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("data key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("data key file: %w", err)
	}
	err = os.Link(tmp, path)
	if err != nil && !errors.Is(err, os.ErrExist) {
		return nil, false, fmt.Errorf("data key file: %w", err)
	}
	created = err == nil
	k, err = LoadFile(path)
	return k, created && err == nil, err
}
