package main

import "testing"

func TestParseBand(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"50-110/150-330", true},
		{"0-0/0-0", true},
		{"110-50/150-330", false},
		{"50-110", false},
		{"a-b/c-d", false},
	}
	for _, c := range cases {
		if _, err := parseBand(c.in); (err == nil) != c.ok {
			t.Errorf("parseBand(%q): %v", c.in, err)
		}
	}
}
