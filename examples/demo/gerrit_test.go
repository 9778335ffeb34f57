package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestDemoGerritREST(t *testing.T) {
	var mu sync.Mutex
	var reviews []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		if r.Method != http.MethodPost || r.URL.EscapedPath() != "/a/changes/demo~4711/revisions/3/review" || u != "bot" || p != "pw" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.EscapedPath(), http.StatusNotFound)
			return
		}
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		reviews = append(reviews, in)
		mu.Unlock()
		fmt.Fprint(w, ")]}'\n{}")
	}))
	defer srv.Close()
	t.Setenv("GERRIT_HTTP_PASSWORD", "pw")
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-builds", "3", "-speed", "50", "-seed", "7", "-addr", "",
		"-gerrit-change", "4711,3", "-gerrit-project", "demo", "-gerrit-url", srv.URL, "-gerrit-user", "bot"}, &out, &errs)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errs.String())
	}
	// Started, finished and build set finished of each of the 3 builds.
	if !strings.Contains(out.String(), "gerrit: 9 delivered, 0 failed, 0 dropped") {
		t.Errorf("want every event delivered, none failed:\n%s\n%s", out.String(), errs.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reviews) != 3 || !strings.HasPrefix(fmt.Sprint(reviews[0]["message"]), "Builder ") {
		t.Errorf("reviews: %v", reviews)
	}
}
