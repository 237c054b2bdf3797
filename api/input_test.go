package api

import "testing"

// TestCheckJSONTextPaths: the member or element named for bad text, at any depth.
func TestCheckJSONTextPaths(t *testing.T) {
	for body, want := range map[string]string{
		`"\u0000"`:                       "body: contains a NUL character",
		`["a","\u0000"]`:                 "body[1]: contains a NUL character",
		`[{"x":1},{"y":"\u0000"}]`:       "body[1].y: contains a NUL character",
		`{"a":{"b":[1,[2,"\u0000"]]}}`:   "a.b[1][1]: contains a NUL character",
		`{"a":{"\u0000":1}}`:             "a (a member name): contains a NUL character",
		`{"\u0000":1}`:                   "body (a member name): contains a NUL character",
		`{"a":[],"b":{},"c":"\u0000"}`:   "c: contains a NUL character",
		`{"":"\u0000"}`:                  `"": contains a NUL character`,
		"{\"k\":[\"ok\",\"\xe6\x97\"]}":  "k[1]: not valid UTF-8",
		`{"a":"\\u0000","b":"\\\u0000"}`: "b: contains a NUL character",
		`{"a":"\\u0000"}`:                "",
		`{"a":"\u0000"`:                  "a: contains a NUL character", // reported before the syntax error
		`{"a":1}}"\u0000"`:               "",                            // not JSON after the object
		`[1e400,"\u0000"]`:               "body[1]: contains a NUL character",
	} {
		got := ""
		if err := checkJSONText([]byte(body)); err != nil {
			got = errorStatus(err).Message
		}
		if got != want {
			t.Errorf("checkJSONText(%s) = %q, want %q", body, got, want)
		}
	}
}
