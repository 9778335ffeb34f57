package web

import (
	"bytes"
	"context"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

// TestChromiumLiveWaterfall opens the waterfall while a build runs, lets
// the build finish, and watches the page update in place: same document
// (a marker set on window survives), new result box. It also screenshots
// the waterfall, grid and console, and checks that no page logged a
// console error (a CSP violation by live.js would be one).
func TestChromiumLiveWaterfall(t *testing.T) {
	mem := store.NewMemory(store.MemoryOptions{})
	s, err := New(Options{Title: "Live test", History: mem, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	// Close order: the streams first (or ts.Close waits for them), then
	// the listener.
	defer ts.Close()
	defer s.Close(context.Background())
	// A host gives the store to its Hub as its history and adds the
	// server; here each event goes to the store and then the server, as
	// the Hub's Publish does.
	publish := func(evs ...status.Event) {
		t.Helper()
		for _, e := range evs {
			if err := mem.Apply(&e); err != nil {
				t.Fatal(err)
			}
			if err := s.Report(context.Background(), e); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	c := statustest.NewChange(1, "Alice <alice@example.org>")
	c.When = now.Add(-time.Minute)
	publish(status.Event{Kind: status.ChangeAdded, Time: c.When, Change: &c},
		status.Event{Kind: status.WorkerConnected, Time: now.Add(-time.Minute),
			Worker: &status.Worker{Name: "worker1", Builders: []string{"linux", "windows"}}})
	publish(statustest.NewBuild("windows").Number(1).Tags("ci").Started(now.Add(-50*time.Second)).
		Step("compile", status.Failure).Failed().Events()...)
	evs := statustest.NewBuild("linux").Number(1).Tags("ci").Change(c).Started(now).
		Step("compile", status.Success).Step("test", status.Success).Succeeded().Events()
	// Run up to the second step's start: the build is running.
	split := 0
	for i, e := range evs {
		if e.Kind == status.StepStarted && e.Step.Name == "test" {
			split = i + 1
		}
	}
	publish(evs[:split]...)

	ctx, problems := browser(t)
	running := `div.box.running[data-kind="step"][data-builder="linux"][data-number="1"][data-step="test"]`
	finished := `div.box.success[data-kind="build"][data-builder="linux"][data-number="1"]`
	err = chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/waterfall"),
		chromedp.WaitVisible(running),
		chromedp.WaitReady(`html[data-live="open"]`), // subscribed
	)
	if err != nil {
		t.Fatalf("waterfall with a running build: %v", err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(finished)+`).length`)); err != nil || n != 0 {
		t.Fatalf("finished box before the build finished: %d %v", n, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.heraldMarker = 42`)); err != nil {
		t.Fatal(err)
	}

	publish(evs[split:]...)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(finished)); err != nil {
		t.Fatalf("the waterfall did not show the finished build: %v", err)
	}
	marker, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.heraldMarker || 0`))
	if err != nil || marker != 42 {
		t.Errorf("page reloaded instead of updating in place (marker %d, %v)", marker, err)
	}
	updates, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.getAttribute("data-live-updates")`))
	if err != nil || updates == "" {
		t.Errorf("no live update counted: %q %v", updates, err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(running)+`).length`)); n != 0 {
		t.Error("the running step box is still there")
	}

	dir := os.Getenv("HERALD_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, p := range []struct{ path, ready, file string }{
		{"/waterfall", finished, "waterfall.png"},
		{"/grid", `table.grid a.box.success`, "grid.png"},
		{"/console", `table.console td.box.success`, "console.png"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+p.path), chromedp.WaitVisible(p.ready)); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if img, err := png.Decode(bytes.NewReader(shot)); err != nil || img.Bounds().Dx() < 800 {
			t.Errorf("%s screenshot: %v", p.path, err)
		}
		file := filepath.Join(dir, p.file)
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of %s: %s", p.path, file)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
