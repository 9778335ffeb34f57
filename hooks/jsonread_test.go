package hooks

import (
	"strings"
	"testing"
)

func TestJSONReaderDepth(t *testing.T) {
	for _, tc := range []struct {
		depth int
		ok    bool
	}{{9999, true}, {10000, false}} {
		// The top-level object is one level: 9999 arrays inside make 10000.
		in := `{"x":` + strings.Repeat("[", tc.depth) + strings.Repeat("]", tc.depth) + `}`
		_, err := decodeGitHubPush([]byte(in))
		_, refErr := referencePush([]byte(in))
		if (err == nil) != tc.ok || (refErr == nil) != tc.ok {
			t.Errorf("depth %d: decoder %v, encoding/json %v; want ok=%v", tc.depth+1, err, refErr, tc.ok)
		}
	}
}

func TestJSONReaderStrings(t *testing.T) {
	for in, want := range map[string]string{
		`"plain"`:                  "plain",
		`"tab\tquote\"slash\/"`:    "tab\tquote\"slash/",
		`"\u00e9\ud83d\ude00"`:     "é😀",
		`"lone \ud800 half"`:       "lone \ufffd half",
		"\"bad \xff utf8\"":        "bad \ufffd utf8",
		`"pair then \ud800\u0041"`: "pair then \ufffdA",
	} {
		d := jsonReader{data: []byte(in)}
		if got := d.str(); got != want || d.end() != nil {
			t.Errorf("%s: got %q (%v), want %q", in, got, d.err, want)
		}
	}
	for _, in := range []string{`"unterminated`, `"bad \x"`, `"\u12g4"`, "\"ctl \x01\"", `7`} {
		d := jsonReader{data: []byte(in)}
		if d.str(); d.end() == nil {
			t.Errorf("%s: no error", in)
		}
	}
}
