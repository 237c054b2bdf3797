package ingest

// A strict JSON validator that also finds where a value ends, so the GeoJSON
// splitter can cut a feature out of the stream and check its syntax in one pass
// over its bytes. Before, the splitter counted braces and the reader then ran
// json.Valid on every feature: together about a fifth of the client's CPU on a
// 1M-point file, all of it on the one reading goroutine. It accepts exactly
// what json.Valid accepts (FuzzScanValue checks this), including its nesting
// limit; anything it refuses goes the old way (brace counting, then json.Valid
// and its error message), so invalid input is reported as before.

// scanStatus says how scanning a value ended.
type scanStatus int

const (
	scanOK   scanStatus = iota // a complete, valid value
	scanMore                   // the bytes end inside the value
	scanBad                    // not valid JSON
)

// maxScanDepth is encoding/json's nesting limit.
const maxScanDepth = 10000

// scanValue returns the index just past the JSON value that starts at b[i]
// (no leading space).
func scanValue(b []byte, i int) (int, scanStatus) {
	return scanAt(b, i, 0)
}

func scanAt(b []byte, i, depth int) (int, scanStatus) {
	if i >= len(b) {
		return i, scanMore
	}
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '{':
		if depth >= maxScanDepth {
			return i, scanBad
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return i, scanMore
		}
		if b[i] == '}' {
			return i + 1, scanOK
		}
		for {
			if b[i] != '"' {
				return i, scanBad
			}
			var st scanStatus
			if i, st = scanString(b, i); st != scanOK {
				return i, st
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, scanMore
			}
			if b[i] != ':' {
				return i, scanBad
			}
			i = skipSpace(b, i+1)
			if i, st = scanAt(b, i, depth+1); st != scanOK {
				return i, st
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, scanMore
			}
			switch b[i] {
			case '}':
				return i + 1, scanOK
			case ',':
				i = skipSpace(b, i+1)
				if i >= len(b) {
					return i, scanMore
				}
			default:
				return i, scanBad
			}
		}
	case c == '[':
		if depth >= maxScanDepth {
			return i, scanBad
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return i, scanMore
		}
		if b[i] == ']' {
			return i + 1, scanOK
		}
		for {
			var st scanStatus
			if i, st = scanAt(b, i, depth+1); st != scanOK {
				return i, st
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, scanMore
			}
			switch b[i] {
			case ']':
				return i + 1, scanOK
			case ',':
				i = skipSpace(b, i+1)
			default:
				return i, scanBad
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return i, scanBad
}

func scanLiteral(b []byte, i int, lit string) (int, scanStatus) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return i + k, scanMore
		}
		if b[i+k] != lit[k] {
			return i + k, scanBad
		}
	}
	return i + len(lit), scanOK
}

// scanString scans a string starting at the quote b[i].
func scanString(b []byte, i int) (int, scanStatus) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, scanOK
		case c == '\\':
			j++
			if j >= len(b) {
				return j, scanMore
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for k := 1; k <= 4; k++ {
					if j+k >= len(b) {
						return j + k, scanMore
					}
					if !isHex(b[j+k]) {
						return j + k, scanBad
					}
				}
				j += 4
			default:
				return j, scanBad
			}
		case c < 0x20:
			return j, scanBad
		}
	}
	return len(b), scanMore
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; a number
// that runs to the end of b may go on, so it needs more bytes.
func scanNumber(b []byte, i int) (int, scanStatus) {
	if b[i] == '-' {
		i++
		if i >= len(b) {
			return i, scanMore
		}
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	default:
		return i, scanBad
	}
	if i >= len(b) {
		return i, scanMore
	}
	if b[i] == '.' {
		i++
		if i >= len(b) {
			return i, scanMore
		}
		if b[i] < '0' || b[i] > '9' {
			return i, scanBad
		}
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
		if i >= len(b) {
			return i, scanMore
		}
	}
	if b[i] == 'e' || b[i] == 'E' {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) {
			return i, scanMore
		}
		if b[i] < '0' || b[i] > '9' {
			return i, scanBad
		}
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
		if i >= len(b) {
			return i, scanMore
		}
	}
	return i, scanOK
}
