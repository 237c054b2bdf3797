package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/paulmach/orb"
)

// A small scanner for JSON that encoding/json has already found valid: it walks
// an object's members as byte spans without building maps or values, which
// makes reading point features several times faster than json.Unmarshal.

// errNotObject is returned for a JSON value that is not an object.
var errNotObject = errors.New("want a JSON object")

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// valueEnd returns the index just past the JSON value starting at i.
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return i, io.ErrUnexpectedEOF
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return len(b), io.ErrUnexpectedEOF
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := valueEnd(b, j)
				if err != nil {
					return end, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return len(b), io.ErrUnexpectedEOF
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
		j++
	}
	return j, nil
}

// eachMember calls fn with the raw key (without quotes, still escaped) and the
// raw value of every member of the valid JSON object b.
func eachMember(b []byte, fn func(key, val []byte)) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errNotObject
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != '}' {
		if b[i] != '"' {
			return fmt.Errorf("bad object member at byte %d", i)
		}
		kEnd, err := valueEnd(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : kEnd-1]
		i = skipSpace(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return fmt.Errorf("want ':' at byte %d", i)
		}
		i = skipSpace(b, i+1)
		vEnd, err := valueEnd(b, i)
		if err != nil {
			return err
		}
		fn(key, b[i:vEnd])
		i = skipSpace(b, vEnd)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return nil
}

// keyBytes unescapes a raw key where needed, without a copy where not.
func keyBytes(k []byte) []byte {
	if bytes.IndexByte(k, '\\') < 0 {
		return k
	}
	return []byte(keyText(k))
}

// keyText unescapes a raw key where needed.
func keyText(k []byte) string {
	if bytes.IndexByte(k, '\\') < 0 {
		return string(k)
	}
	s, ok := jsonScalar(append(append([]byte{'"'}, k...), '"'))
	if !ok {
		return string(k)
	}
	return s
}

// fastPoint parses {"type": "Point", "coordinates": [x, y]} without reflection;
// ok is false for anything else (left to the general parser).
func fastPoint(b []byte) (p orb.Point, ok bool) {
	var typ, coords []byte
	if eachMember(b, func(k, v []byte) {
		switch string(k) {
		case "type":
			typ = v
		case "coordinates":
			coords = v
		}
	}) != nil || string(typ) != `"Point"` || len(coords) < 2 || coords[0] != '[' {
		return p, false
	}
	inner := coords[1 : len(coords)-1]
	n := 0
	for len(inner) > 0 && n < 3 {
		i := skipSpace(inner, 0)
		j := i
		for j < len(inner) && inner[j] != ',' {
			j++
		}
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(inner[i:j])), 64)
		if err != nil {
			return p, false
		}
		if n < 2 {
			p[n] = f
		}
		n++
		if j >= len(inner) {
			break
		}
		inner = inner[j+1:]
	}
	return p, n == 2 || n == 3
}

// splitter cuts the elements of a JSON array (the features) out of a stream,
// one value at a time. An object or array element is validated while it is cut
// (scanValue); anything else, or an element scanValue refuses, is cut by
// counting brackets and the caller checks it with json.Valid.
type splitter struct {
	r    io.Reader
	buf  []byte
	pos  int // start of the unread bytes in buf
	eof  bool
	done bool
}

func newSplitter(r io.Reader, buffered []byte) *splitter {
	b := make([]byte, len(buffered), max(len(buffered), 1<<20))
	copy(b, buffered)
	return &splitter{r: r, buf: b}
}

// fill moves the unread bytes to the front and reads more; it returns false at
// the end of the input.
func (s *splitter) fill() (bool, error) {
	if s.eof {
		return false, nil
	}
	n := copy(s.buf, s.buf[s.pos:])
	s.buf, s.pos = s.buf[:n], 0
	if len(s.buf) == cap(s.buf) {
		nb := make([]byte, len(s.buf), 2*cap(s.buf))
		copy(nb, s.buf)
		s.buf = nb
	}
	m, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+m]
	if err == io.EOF {
		s.eof = true
		return m > 0, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// next returns the next array element (valid until the next call) and whether
// it is known to be valid JSON, or io.EOF after the closing ']'.
func (s *splitter) next() ([]byte, bool, error) {
	if s.done {
		return nil, false, io.EOF
	}
	for {
		if s.pos >= len(s.buf) {
			more, err := s.fill()
			if err != nil {
				return nil, false, err
			}
			if !more {
				return nil, false, fmt.Errorf("unterminated features array: %w", io.ErrUnexpectedEOF)
			}
			continue
		}
		c := s.buf[s.pos]
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ',' {
			s.pos++
			continue
		}
		if c == ']' {
			s.pos++
			s.done = true
			return nil, false, io.EOF
		}
		break
	}
	if c := s.buf[s.pos]; c == '{' || c == '[' {
		for {
			end, st := scanValue(s.buf, s.pos)
			if st == scanOK {
				v := s.buf[s.pos:end]
				s.pos = end
				return v, true, nil
			}
			if st == scanBad || s.eof {
				break
			}
			// Read until the unread bytes have doubled before scanning the
			// element again from its start, so a huge element read in small
			// chunks is rescanned a logarithmic number of times.
			want := 2 * (len(s.buf) - s.pos)
			for !s.eof && len(s.buf)-s.pos < want {
				if _, err := s.fill(); err != nil {
					return nil, false, err
				}
			}
		}
	}
	b, err := s.cut()
	return b, false, err
}

// cut returns the element at s.pos by counting brackets outside strings.
func (s *splitter) cut() ([]byte, error) {
	start := s.pos
	i := start // scan position
	depth, inStr, esc := 0, false, false
	scalar := false
	switch s.buf[start] {
	case '{', '[':
	case '"':
	default:
		scalar = true
	}
	for {
		for ; i < len(s.buf); i++ {
			c := s.buf[i]
			if scalar {
				if c == ',' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t' {
					s.pos = i
					return s.buf[start:i], nil
				}
				continue
			}
			switch {
			case esc:
				esc = false
			case inStr:
				if c == '\\' {
					esc = true
				} else if c == '"' {
					inStr = false
					if depth == 0 {
						s.pos = i + 1
						return s.buf[start : i+1], nil
					}
				}
			case c == '"':
				inStr = true
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
				if depth <= 0 {
					s.pos = i + 1
					return s.buf[start : i+1], nil
				}
			}
		}
		off := i - start
		s.pos = start
		more, err := s.fill()
		if err != nil {
			return nil, err
		}
		if !more {
			return nil, fmt.Errorf("unterminated feature: %w", io.ErrUnexpectedEOF)
		}
		start, i = s.pos, s.pos+off
	}
}
