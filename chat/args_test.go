package chat

import (
	"reflect"
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
		got, err := SplitArgs(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`"open`, `'open`, `trailing\`} {
		if got, err := SplitArgs(bad); err == nil {
			t.Errorf("SplitArgs(%q) = %q, want an error", bad, got)
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
