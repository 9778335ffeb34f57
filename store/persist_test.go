package store_test

import (
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

func TestOpenMemoryKeepsHistoryAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	m, err := store.OpenMemory(path, store.MemoryOptions{BuildsPerBuilder: 2, Changes: 2})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, m, status.Event{Kind: status.BuilderAdded, Builder: &status.Builder{Name: "linux", Tags: []string{"ci"}, Description: "Debian"}})
	w := status.Worker{Name: "w1", Host: "debian"}
	feed(t, m, status.Event{Kind: status.WorkerConnected, Worker: &w})
	for i := 1; i <= 3; i++ {
		c := statustest.NewChange(0, "Alice <alice@example.org>")
		feed(t, m, status.Event{Kind: status.ChangeAdded, Change: &c})
		feed(t, m, statustest.NewBuild("linux").Number(i).Tags("ci").Property("owner", "alice").
			Step("compile", status.Success).Step("test", status.Failure).Failed().Events()...)
	}
	feed(t, m, statustest.NewBuild("linux").Number(4).Running().Events()...) // running: not kept
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}

	m2, err := store.OpenMemory(path, store.MemoryOptions{BuildsPerBuilder: 2, Changes: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close(ctx)
	b, err := m2.Builder(ctx, "linux")
	if err != nil || b.Description != "Debian" || b.State != status.Idle {
		t.Errorf("builder = %+v, %v", b, err)
	}
	builds, _ := m2.Builds(ctx, status.BuildQuery{})
	if len(builds) != 2 || builds[0].Number != 3 || builds[1].Number != 2 {
		t.Fatalf("builds after restart = %d (want #3, #2: retention 2, running #4 not kept)", len(builds))
	}
	b3 := builds[0]
	if b3.Result != status.Failure || len(b3.Steps) != 2 || b3.Property("owner") != "alice" {
		t.Errorf("build #3 = %+v", b3)
	}
	r, err := m2.Log(ctx, b3.Steps[1].Logs[0])
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := io.ReadAll(r); string(text) != "test: output of stdio\n" {
		t.Errorf("log = %q", text)
	}
	if _, err := m2.Log(ctx, status.LogRef{Builder: "linux", Build: 1, Step: "test", Name: "stdio"}); !errors.Is(err, status.ErrNotFound) {
		t.Errorf("the log of a build past retention survived: %v", err)
	}
	cs, _ := m2.Changes(ctx, status.ChangeQuery{})
	if len(cs) != 2 || cs[0].ID != 3 || cs[1].ID != 2 {
		t.Errorf("changes = %+v", cs)
	}
	ws, _ := m2.Workers(ctx)
	if len(ws) != 1 || ws[0].Host != "debian" || ws[0].Connected {
		t.Errorf("workers = %+v (want w1, not connected after a restart)", ws)
	}
	// New changes carry on after the loaded ones.
	c := statustest.NewChange(0, "Bob <bob@example.org>")
	feed(t, m2, status.Event{Kind: status.ChangeAdded, Change: &c})
	if cs, _ := m2.Changes(ctx, status.ChangeQuery{Limit: 1}); cs[0].ID != 4 {
		t.Errorf("new change got ID %d, want 4", cs[0].ID)
	}
}

func TestOpenMemoryRefusesALockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	m, err := store.OpenMemory(path, store.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	if _, err := store.OpenMemory(path, store.MemoryOptions{}); err == nil {
		t.Error("a second OpenMemory of the same file succeeded")
	}
}

func TestOpenMemoryConformance(t *testing.T) {
	dir := t.TempDir()
	n := 0
	statustest.Conformance(t, func() status.Reporter {
		n++
		m, err := store.OpenMemory(filepath.Join(dir, "h"+string(rune('0'+n))+".db"), store.MemoryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}
