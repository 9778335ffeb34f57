package web

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestJSONGolden(t *testing.T) {
	s, _ := newTestServer(t, Options{Title: "Proj", BaseURL: "https://ci.example.org/"})
	for _, tt := range []struct{ path, file string }{
		{"/json?compact=0", "json_root.golden"},
		{"/json/builders?compact=0", "json_builders.golden"},
		{"/json/builders/linux?compact=0", "json_builder.golden"},
		{"/json/builders/linux/builds/2?compact=0", "json_build.golden"},
		{"/json/builders/linux/builds?select=-1&select=1&as_text=1", "json_builds_select.golden"},
		{"/json/builders/linux/builds/2/steps/test?compact=0", "json_step.golden"},
		{"/json/builders/linux/builds/2/steps/test/logs?compact=0", "json_logs.golden"},
		{"/json/builders/linux/builds/2/source_stamp/changes?compact=0", "json_build_changes.golden"},
		{"/json/builders/linux/pendingBuilds?compact=0", "json_pending.golden"},
		{"/json/changes?as_text=1", "json_changes.golden"},
		{"/json/slaves/worker1?compact=0", "json_slave.golden"},
		{"/json/project?compact=0", "json_project.golden"},
		{"/json?select=slaves/worker2&select=project&select=builders/windows/builds/1&as_text=1", "json_select.golden"},
		{"/json/builders/linux?select=&select=slaves&as_text=1", "json_select_self.golden"},
	} {
		w := httptestGet(s, tt.path)
		if w.Code != 200 {
			t.Errorf("GET %s = %d: %s", tt.path, w.Code, w.Body)
			continue
		}
		var v any
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Errorf("GET %s: invalid JSON: %v", tt.path, err)
		}
		golden(t, tt.file, w.Body.String())
	}
}

func TestJSONFlags(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	w := httptestGet(s, "/json/builders/linux/builds/2")
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if strings.Contains(strings.TrimSpace(w.Body.String()), "\n") {
		t.Error("default output is not compact")
	}
	var b map[string]any
	json.Unmarshal(w.Body.Bytes(), &b)
	if b["results"] != 2.0 || b["builderName"] != "linux" || b["number"] != 2.0 {
		t.Errorf("build = %v", b)
	}
	if _, ok := b["eta"]; !ok {
		t.Error("unfiltered output lacks null eta")
	}

	w = httptestGet(s, "/json/builders/linux/builds/2?filter=1")
	b = nil
	json.Unmarshal(w.Body.Bytes(), &b)
	if _, ok := b["eta"]; ok {
		t.Error("filter=1 kept a null")
	}
	w = httptestGet(s, "/json/builders/linux/builds/3?as_text=1")
	if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("as_text Content-Type %q", ct)
	}
	if !strings.Contains(w.Body.String(), "\n  ") {
		t.Error("as_text output is not indented")
	}
	b = nil
	json.Unmarshal(w.Body.Bytes(), &b)
	if _, ok := b["results"]; ok {
		t.Error("running build has results after filtering")
	}
	w = httptestGet(s, "/json/builders/linux/builds/-1")
	b = nil
	json.Unmarshal(w.Body.Bytes(), &b)
	if b["number"] != 3.0 {
		t.Errorf("builds/-1 is build %v, want 3", b["number"])
	}
	w = httptestGet(s, "/json/builders/linux/builds/_all")
	var all map[string]any
	json.Unmarshal(w.Body.Bytes(), &all)
	if len(all) != 3 {
		t.Errorf("builds/_all has %d builds, want 3", len(all))
	}
	w = httptestGet(s, "/json/builders/linux/builds?numbuilds=1")
	all = nil
	json.Unmarshal(w.Body.Bytes(), &all)
	if len(all) != 1 || all["3"] == nil {
		t.Errorf("numbuilds=1 gave %v", all)
	}
	for _, p := range []string{"/json/nope", "/json/builders/nope", "/json/builders/linux/builds/99", "/json/builders/linux/builds/2/steps/nope",
		"/json/changes/99", "/json/slaves/nope", "/json/builders/linux/builds/2/steps/test/logs/nope"} {
		if w := httptestGet(s, p); w.Code != 404 || !strings.Contains(w.Body.String(), "Not available") {
			t.Errorf("GET %s = %d %s, want 404", p, w.Code, w.Body)
		}
	}
	w = httptestGet(s, "/json?select=nope&select=project")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"nope":{"error":"Not available"}`) {
		t.Errorf("select of a missing path: %d %s", w.Code, w.Body)
	}
}

// FuzzJSONPath: any path and select= list gives valid JSON, 200 or 404,
// never a panic.
func FuzzJSONPath(f *testing.F) {
	s, _ := newTestServer(f, Options{})
	for _, seed := range [][2]string{
		{"builders/linux/builds/-1/steps/test/logs/stdio", ""},
		{"builders/linux/builds", "select=-1&select=2/steps&select="},
		{"", "select=builders/linux/builds/_all&select=slaves/worker1&filter=1"},
		{"changes/1", "as_text=1"},
		{"builders/%2F/builds/x", "select=%252F"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		u := &url.URL{Path: "/json/" + path, RawQuery: query}
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = u
		r.RequestURI = u.RequestURI()
		w := serve(s, r)
		if w.Code != 200 && w.Code != 404 && w.Code != 301 && w.Code != 307 {
			t.Fatalf("GET %s = %d", u, w.Code)
		}
		if w.Code == 200 || w.Code == 404 {
			var v any
			if ct := w.Header().Get("Content-Type"); strings.Contains(ct, "json") || strings.Contains(ct, "text/plain") {
				if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
					t.Fatalf("GET %s: invalid JSON %q", u, w.Body)
				}
			}
		}
	})
}
