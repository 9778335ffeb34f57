package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/store"
)

func TestDemoRunsFiveBuilds(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-builds", "5", "-speed", "50", "-seed", "7", "-addr", "127.0.0.1:0"}, &out, &errs)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errs.String())
	}
	buildLine := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d (linux|windows|docs) +#\d+ +(success|warnings|failure|exception|cancelled) `)
	if n := len(buildLine.FindAllString(out.String(), -1)); n != 5 {
		t.Errorf("got %d build lines, want 5:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "console: 5 delivered, 0 failed, 0 dropped") {
		t.Errorf("stats line missing or wrong:\n%s", out.String())
	}
	if strings.Contains(errs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", errs.String())
	}
}

func TestDemoHistoryFileSurvivesARestart(t *testing.T) {
	path := t.TempDir() + "/history.db"
	for round := 1; round <= 2; round++ {
		var out, errs bytes.Buffer
		err := run(context.Background(), []string{"-builds", "2", "-speed", "50", "-seed", "3", "-addr", "", "-history", path}, &out, &errs)
		if err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, errs.String())
		}
		if !strings.Contains(out.String(), "console: 2 delivered") {
			t.Errorf("round %d:\n%s", round, out.String())
		}
	}
	m, err := store.OpenMemory(path, store.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	builds, _ := m.Builds(context.Background(), status.BuildQuery{})
	if len(builds) != 4 {
		t.Errorf("the history file holds %d builds after two runs of 2, want 4 (numbering must go on)", len(builds))
	}
}

// TestDemoFinishesWhatTheLastRunLeftRunning starts the demo on a history
// file whose last writer died with linux #9 running: the console (a
// reporter like any other) hears it ended, once.
func TestDemoFinishesWhatTheLastRunLeftRunning(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/history.db"
	m, err := store.OpenMemory(path, store.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hub := status.NewHub(status.HubOptions{History: m, Master: "demo"})
	status.StartBuild(hub, &status.Build{Builder: "linux", Number: 9}).StartStep("compile")
	if err := hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(ctx); err != nil { // the file holds linux #9 running
		t.Fatal(err)
	}
	interrupted := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d linux +#9 +exception `)
	for round := 1; round <= 2; round++ {
		var out, errs bytes.Buffer
		err := run(ctx, []string{"-builds", "1", "-speed", "50", "-seed", "3", "-addr", "", "-history", path}, &out, &errs)
		if err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, errs.String())
		}
		want := 0
		if round == 1 {
			want = 1
		}
		if n := len(interrupted.FindAllString(out.String(), -1)); n != want {
			t.Errorf("round %d: the console printed linux #9's end %d times, want %d:\n%s", round, n, want, out.String())
		}
		if got := strings.Contains(errs.String(), "ended as interrupted\" builds=1"); got != (round == 1) {
			t.Errorf("round %d: the note about the interrupted build is %v:\n%s", round, got, errs.String())
		}
		if strings.Contains(errs.String(), "level=WARN") || strings.Contains(errs.String(), "level=ERROR") {
			t.Errorf("round %d: logged:\n%s", round, errs.String())
		}
	}
}
