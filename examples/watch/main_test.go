package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/stream"
)

// TestWatch runs the client against a real stream server: the snapshot
// table first, then a line per build event of the selected builder.
func TestWatch(t *testing.T) {
	srv, err := stream.New(stream.Options{Auth: auth.Users(map[string]status.Secret{"alice": "pw"})})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close(context.Background())
	_ = srv.Report(context.Background(), status.Event{Kind: status.BuilderAdded, Builder: &status.Builder{Name: "linux"}})
	_ = srv.Report(context.Background(), status.Event{Kind: status.BuilderAdded, Builder: &status.Builder{Name: "docs"}})

	ctx, cancel := context.WithCancel(context.Background())
	var out testkit.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-url", hs.URL, "-user", "alice", "-password", "pw", "-builder", "linux"}, &out, &out)
	}()
	waitFor(t, &out, "LAST BUILD") // connected: what follows is live
	for _, e := range statustest.NewBuild("docs").Number(3).Failed().Events() {
		_ = srv.Report(context.Background(), e)
	}
	for _, e := range statustest.NewBuild("linux").Number(9).Step("test", status.Success).Succeeded().Events() {
		_ = srv.Report(context.Background(), e)
	}
	waitFor(t, &out, "#9 success")
	cancel()
	<-done
	got := out.String()
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "BUILDER") || !strings.HasPrefix(lines[1], "linux") ||
		!strings.Contains(lines[2], "linux        #9 building") || !strings.Contains(lines[3], "linux        #9 success in") {
		t.Errorf("output:\n%s", got)
	}
	if strings.Contains(got, "docs") {
		t.Errorf("-builder linux printed docs:\n%s", got)
	}
}

func TestWatchWrongPassword(t *testing.T) {
	srv, _ := stream.New(stream.Options{Auth: auth.Users(map[string]status.Secret{"alice": "pw"})})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	err := run(context.Background(), []string{"-url", hs.URL, "-user", "alice", "-password", "nope"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err != stream.ErrUnauthorized {
		t.Errorf("run = %v, want ErrUnauthorized", err)
	}
}

// waitFor polls the output until it contains s.
func waitFor(t *testing.T, out *testkit.Buffer, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%q never printed:\n%s", s, out.String())
		}
		time.Sleep(5 * time.Millisecond) // polling the output: nothing else to wait on
	}
}
