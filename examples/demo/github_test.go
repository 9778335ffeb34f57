package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// The github and stash targets run against their local API doubles and
// deliver every event without failure.
func TestDemoCommitStatusTargets(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-builds", "3", "-speed", "50", "-seed", "7", "-addr", "",
		"-web-url", "https://ci.example.org", "-github-api", "local", "-stash-url", "local"}, &out, &errs)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errs.String())
	}
	for _, name := range []string{"github", "stash"} {
		m := regexp.MustCompile(name + `: (\d+) delivered, 0 failed, 0 dropped`).FindStringSubmatch(out.String())
		if m == nil || m[1] == "0" {
			t.Errorf("%s did not deliver cleanly:\n%s", name, out.String())
		}
	}
	if strings.Contains(errs.String(), "level=ERROR") || strings.Contains(errs.String(), "level=WARN") {
		t.Errorf("errors or warnings logged:\n%s", errs.String())
	}
}

func TestDemoGitHubAPINeedsToken(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-builds", "1", "-addr", "", "-github-api", "https://github.example.com/api/v3/"}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "-github-token-file") {
		t.Errorf("run = %v, want an error asking for -github-token-file", err)
	}
}

// With -github-checks the github target reports check runs, reading the
// failing steps' logs from the demo's store, without a warning.
func TestDemoGitHubChecks(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-builds", "4", "-speed", "50", "-seed", "7", "-addr", "",
		"-github-api", "local", "-github-checks"}, &out, &errs)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errs.String())
	}
	if m := regexp.MustCompile(`github: (\d+) delivered, 0 failed, 0 dropped`).FindStringSubmatch(out.String()); m == nil || m[1] == "0" {
		t.Errorf("github did not deliver cleanly:\n%s", out.String())
	}
	if strings.Contains(errs.String(), "level=ERROR") || strings.Contains(errs.String(), "level=WARN") {
		t.Errorf("errors or warnings logged:\n%s", errs.String())
	}
}
