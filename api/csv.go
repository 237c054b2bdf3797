package api

// CSV answers are opened in spreadsheets, which run a cell that starts with =,
// +, -, @ (and, in some, a tab or a carriage return) as a formula. Following
// OWASP's "CSV Injection" guidance, every text cell the server writes goes
// through csvText, which puts an apostrophe before such a cell: spreadsheets
// show the apostrophe-led cell as text and hide the apostrophe. Quoting (a cell
// holding a comma, quote or line break) is encoding/csv's.
//
// Numbers are not formulas: a cell that is a plain decimal number (-12, +3.5)
// is written as it is, so negative numbers stay numbers, whether a numeric
// column formatted by the server or a number used as a key (an uploaded
// polygon's id -1). Anything else after the sign (-1+2, -A1, -1e3) is
// neutralised.

// csvText returns s made safe to write as a CSV cell.
func csvText(s string) string {
	if s == "" || plainNumber(s) {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// plainNumber reports whether s is an optional sign, digits and an optional
// fraction: a number to any spreadsheet, never a formula.
func plainNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	return digits > 0 && i == len(s)
}
