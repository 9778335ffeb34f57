package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Golden compares got with the file testdata/name, or, when update is set
// (a package's -update test flag), writes got there. A mismatch reports the
// first differing line and both versions.
func Golden(t testing.TB, update bool, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) == string(want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	line := 0
	for line < len(gl) && line < len(wl) && gl[line] == wl[line] {
		line++
	}
	first := func(ls []string) string {
		if line < len(ls) {
			return ls[line]
		}
		return "(end of file)"
	}
	t.Errorf("%s differs at line %d (go test -update rewrites it):\n got: %q\nwant: %q\n--- got ---\n%s\n--- want ---\n%s",
		path, line+1, first(gl), first(wl), got, want)
}
