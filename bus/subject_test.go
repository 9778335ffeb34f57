package bus

import (
	"strings"
	"testing"

	"github.com/heraldci/herald/status"
)

func TestSubject(t *testing.T) {
	for _, tc := range []struct {
		e    status.Event
		want string
	}{
		{status.Event{Kind: status.BuildStarted, Build: &status.Build{Builder: "linux"}}, "herald.buildStarted.linux"},
		{status.Event{Kind: status.BuildStarted, Build: &status.Build{Builder: "deb 12.amd64>*"}}, "herald.buildStarted.deb%2012%2Eamd64%3E%2A"},
		{status.Event{Kind: status.ChangeAdded, Change: &status.Change{}}, "herald.changeAdded._"},
		{status.Event{Kind: status.BuilderAdded, Builder: &status.Builder{Name: "_"}}, "herald.builderAdded.%5F"},
		{status.Event{Kind: status.BuilderAdded, Builder: &status.Builder{Name: "50%"}}, "herald.builderAdded.50%25"},
	} {
		if got := Subject("herald", &tc.e); got != tc.want {
			t.Errorf("Subject = %q, want %q", got, tc.want)
		}
	}
}

func FuzzEscapeToken(f *testing.F) {
	for _, s := range []string{"linux", "a.b", "x y", ">", "*", "_", "%41", "%", "ü.ñ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok := escapeToken(s)
		if s != "" && (strings.ContainsAny(tok, ".*> \t\r\n") || tok == "_") {
			t.Fatalf("escapeToken(%q) = %q: not one plain token", s, tok)
		}
		if back := unescapeToken(tok); back != s {
			t.Fatalf("unescapeToken(escapeToken(%q)) = %q", s, back)
		}
	})
}
