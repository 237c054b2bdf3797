package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func testKey(t *testing.T, b byte) *Key {
	t.Helper()
	k, err := NewKey(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := testKey(t, 1)
	for _, clear := range []string{"", "张三丰", "13812345678", "44030419800101123X"} {
		a, b := k.Seal("phone", clear), k.Sealer().Seal("phone", clear)
		if len(a) != len(clear)+Overhead || bytes.Equal(a, b) {
			t.Errorf("%q: sealed %d and %d bytes, equal %v: want %d bytes, fresh nonces", clear, len(a), len(b), bytes.Equal(a, b), len(clear)+Overhead)
		}
		if bytes.Contains(a, []byte(clear)) && clear != "" {
			t.Errorf("%q: the sealed value holds the clear text", clear)
		}
		for _, s := range [][]byte{a, b} {
			got, err := k.Open("phone", s)
			if err != nil || got != clear {
				t.Errorf("open %q: %q, %v", clear, got, err)
			}
		}
		// Another field, another key, a flipped bit, a truncated value: no.
		if _, err := k.Open("head_name", a); !errors.Is(err, ErrOpen) {
			t.Errorf("%q opened as another field: %v", clear, err)
		}
		if _, err := testKey(t, 2).Open("phone", a); !errors.Is(err, ErrOpen) {
			t.Errorf("%q opened with another key: %v", clear, err)
		}
		bad := bytes.Clone(a)
		bad[len(bad)-1] ^= 1
		if _, err := k.Open("phone", bad); !errors.Is(err, ErrOpen) {
			t.Errorf("%q: a damaged value opened: %v", clear, err)
		}
		if _, err := k.Open("phone", a[:Overhead-1]); !errors.Is(err, ErrOpen) {
			t.Errorf("%q: a truncated value opened: %v", clear, err)
		}
	}
	if testKey(t, 1).ID() != k.ID() || testKey(t, 2).ID() == k.ID() || len(k.ID()) != 16 {
		t.Errorf("key ids: %s %s %s", k.ID(), testKey(t, 1).ID(), testKey(t, 2).ID())
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "data.key")
	// Concurrent first uses agree on one key.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	made := make([]bool, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, created, err := LoadOrCreate(path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i], made[i] = k.ID(), created
		}()
	}
	wg.Wait()
	n := 0
	for i := range ids {
		if ids[i] != ids[0] {
			t.Errorf("first uses made different keys: %v", ids)
		}
		if made[i] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d first uses say they created the key, want 1", n)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", st, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the key's directory holds %d files, want the key alone", len(entries))
	}
	k, created, err := LoadOrCreate(path)
	if err != nil || created || k.ID() != ids[0] {
		t.Errorf("second use: %v %v %v", k, created, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable key file: %v", err)
	}
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(bad); err == nil {
		t.Error("a malformed key file loaded")
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.key")); err == nil {
		t.Error("a missing key file loaded")
	}
}

func BenchmarkSealer(b *testing.B) {
	k, _ := NewKey(bytes.Repeat([]byte{1}, KeySize))
	s := k.Sealer()
	b.ReportAllocs()
	for b.Loop() {
		s.Seal("phone", "13812345678")
	}
}
