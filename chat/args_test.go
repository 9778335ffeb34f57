package chat

import (
	"reflect"
	"strings"
	"testing"

	"github.com/heraldci/herald/status"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"status all", []string{"status", "all"}},
		{"  force build  linux  'needs a rebuild' ", []string{"force", "build", "linux", "needs a rebuild"}},
		{`force build "say \"hi\"" x`, []string{"force", "build", `say "hi"`, "x"}},
		{`a\ b c`, []string{"a b", "c"}},
		{`a''b ""`, []string{"ab", ""}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := splitArgs(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitArgs(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`"open`, `'open`, `trailing\`} {
		if got, err := splitArgs(bad); err == nil {
			t.Errorf("splitArgs(%q) = %q, want an error", bad, got)
		}
	}
}

func TestParseFlags(t *testing.T) {
	flags, rest, err := parseFlags([]string{"--branch=main", "linux", "--revision", "abc", "why", "--", "--not-a-flag"}, "branch", "revision", "props")
	want := map[string]string{"branch": "main", "revision": "abc"}
	if err != nil || !reflect.DeepEqual(flags, want) || !reflect.DeepEqual(rest, []string{"linux", "why", "--not-a-flag"}) {
		t.Errorf("parseFlags = %v, %q, %v", flags, rest, err)
	}
	for _, bad := range [][]string{{"--nope=1"}, {"--branch"}, {"--branch=a", "--branch=b"}} {
		if _, _, err := parseFlags(bad, "branch"); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

func TestValidEvent(t *testing.T) {
	for _, e := range []string{"started", "finished", "success", "warnings", "failure", "exception", "successToFailure", "failureToSuccess", "warningsToFailure", "exceptionToWarnings"} {
		if !validEvent(e) {
			t.Errorf("validEvent(%q) = false", e)
		}
	}
	for _, e := range []string{"", "To", "successTofailure", "successToRetry", "retryToSuccess", "Started", "successToFailureX", "successToFailureToSuccess"} {
		if validEvent(e) {
			t.Errorf("validEvent(%q) = true", e)
		}
	}
	if got := transition(status.Warnings, status.Failure); got != "warningsToFailure" {
		t.Errorf("transition = %q", got)
	}
}

// FuzzSplitArgs: whatever people type, splitArgs either refuses it or
// returns words that, quoted again, split back to themselves.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{"status all", `force build "a b" 'c d' e\ f`, `"open`, `x\`, `a''b ""`, "\t \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := splitArgs(s)
		if err != nil {
			return
		}
		var quoted []string
		for _, a := range args {
			quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		}
		again, err := splitArgs(strings.Join(quoted, " "))
		if err != nil || !reflect.DeepEqual(again, args) && len(args) > 0 {
			t.Fatalf("splitArgs(%q) = %q, but its quoted form splits into %q (%v)", s, args, again, err)
		}
	})
}
