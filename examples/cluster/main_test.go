package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestClusterTwoMastersOneFrontEnd(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"-builds", "2", "-speed", "50", "-store", t.TempDir(), "-addr", "127.0.0.1:0"}, &out, &errs); err != nil {
		t.Fatalf("run: %v\n%s", err, errs.String())
	}
	s := out.String()
	if n := strings.Count(s, "front end: master-"); n != 4 {
		t.Errorf("front end reported %d builds, want 4 (2 per master):\n%s", n, s)
	}
	if !strings.Contains(s, "front end web status: http://127.0.0.1:") {
		t.Errorf("no web status announced:\n%s", s)
	}
	for _, want := range []string{"a-linux(master-a)", "b-linux(master-b)", "a-docs(master-a)", "b-docs(master-b)"} {
		if !strings.Contains(s, want) {
			t.Errorf("front end does not show builder %s:\n%s", want, s)
		}
	}
}
