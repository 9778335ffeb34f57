package web

import (
	"bytes"
	"context"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"

	"github.com/chromedp/chromedp"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

// miniMaster is a tiny CI master for the browser test: forcing a build runs
// it at once, feeding its events into a store.Memory the pages read.
type miniMaster struct {
	status.UnsupportedControl
	mem *store.Memory

	mu   sync.Mutex
	next int
}

func (m *miniMaster) ForceBuild(ctx context.Context, r status.ForceRequest) (*status.BuildRequest, error) {
	m.mu.Lock()
	m.next++
	n := m.next
	m.mu.Unlock()
	evs := statustest.NewBuild(r.Builder).Number(n).Reason(r.Reason).Started(time.Now()).
		Step("compile", status.Success).Step("test", status.Success).Succeeded().Events()
	for _, e := range evs {
		if err := m.mem.Apply(&e); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func newMiniMaster(t *testing.T) *miniMaster {
	mem := store.NewMemory(store.MemoryOptions{})
	for _, b := range []string{"linux", "windows"} {
		mem.Apply(&status.Event{Kind: status.BuilderAdded, Builder: &status.Builder{Name: b, Workers: []string{"worker1"}}})
	}
	mem.Apply(&status.Event{Kind: status.WorkerConnected, Time: time.Now(), Worker: &status.Worker{Name: "worker1", Builders: []string{"linux", "windows"}}})
	c := statustest.NewChange(1, "Alice <alice@example.org>")
	mem.Apply(&status.Event{Kind: status.ChangeAdded, Change: &c})
	return &miniMaster{mem: mem}
}

// browser starts headless Chromium (skipping without it) and collects
// what the pages write to the console: errors, warnings, exceptions and
// failed loads from the browser log.
func browser(t *testing.T) (context.Context, func() []string) {
	path := testkit.NeedBinary(t, "chromium", "apt-get install -y chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// A hang guard, not a speed limit: the test binary's own deadline when
	// it has one (go test -timeout), else ten minutes.
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Minute)
	}
	ctx, cancelTimeout := context.WithDeadline(ctx, deadline.Add(-5*time.Second))

	// Start the browser, then subscribe before any page loads.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	cctx, stopConsole := context.WithCancel(ctx)
	messages := chromedp.Console(cctx)
	var mu sync.Mutex
	var problems []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				mu.Lock()
				problems = append(problems, m.String()+" "+m.URL)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		stopConsole()
		<-done
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// TestChromium logs in through the form, forces a build, sees it on the
// builder page, opens its log, screenshots the builders page and checks
// that no page logged a console error.
func TestChromium(t *testing.T) {
	m := newMiniMaster(t)
	s, err := New(Options{Title: "Browser test", History: m.mem, Control: m, Logger: discardLogger(), Authz: Authz{
		Auth:  auth.Users(map[string]status.Secret{"alice": "wonderland"}),
		Rules: map[Action]Rule{ForceBuild: Authenticated, StopBuild: Authenticated},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx, problems := browser(t)

	err = chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/builders/linux"),
		chromedp.WaitVisible(`a[href^="/login"]`),
	)
	if err != nil {
		t.Fatalf("anonymous builder page: %v", err)
	}
	forceForms, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#force-form").length`))
	if err != nil {
		t.Fatal(err)
	}
	// Each step that loads a page waits for the load (RunResponse), so no
	// query runs against the page being left.
	load := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if _, err := chromedp.RunResponse(ctx, a); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	load("open the login form", chromedp.Click(`a[href^="/login"]`))
	do("fill the login form", chromedp.WaitVisible(`#login-form`),
		chromedp.SendKeys(`input[name=username]`, "alice"), chromedp.SendKeys(`input[name=passwd]`, "wonderland"))
	load("log in", chromedp.Click(`#login-form button[type=submit]`))
	do("fill the force form", chromedp.WaitVisible(`#force-form`),
		chromedp.SendKeys(`#force-form input[name=reason]`, "browser <test>"))
	load("force a build", chromedp.Click(`#force-form button[type=submit]`))
	do("see the result", chromedp.WaitVisible(`p.flash`), chromedp.WaitVisible(`a[href="/builders/linux/builds/1"]`))
	flash := text(`p.flash`)
	load("open the build", chromedp.Click(`a[href="/builders/linux/builds/1"]`))
	do("build page", chromedp.WaitVisible(`ol.steps`))
	buildTitle := text(`h1`)
	load("open the log", chromedp.Click(`a.log[href="/builders/linux/builds/1/steps/test/logs/stdio"]`))
	do("log page", chromedp.WaitVisible(`pre.log`))
	logText := text(`pre.log`)
	if forceForms != 0 {
		t.Error("the anonymous builder page shows the force form")
	}
	if !strings.Contains(flash, "Build forced on linux") {
		t.Errorf("flash = %q", flash)
	}
	if !strings.Contains(buildTitle, "build #1") {
		t.Errorf("build page title %q", buildTitle)
	}
	if !strings.Contains(logText, "test: output of stdio") {
		t.Errorf("log text %q", logText)
	}
	b, err := m.mem.Build(context.Background(), "linux", 1)
	if err != nil || b.Reason != "browser <test>" {
		t.Errorf("forced build %v, %v: want the reason typed in the form", b, err)
	}

	// Every main page loads without console errors (a CSP violation would
	// be one); the builders page is kept as a screenshot.
	for _, p := range []string{"/", "/one_line_per_build", "/changes", "/changes/1", "/buildslaves", "/about", "/json/help", "/builders"} {
		do(p, chromedp.Navigate(ts.URL+p), chromedp.WaitVisible(`h1`))
		if h1 := text(`h1`); h1 == "" {
			t.Errorf("%s has an empty heading", p)
		}
	}
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("td.box.success")).backgroundColor`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if bg != "rgb(143, 223, 95)" {
		t.Errorf("success box colour %q: the stylesheet did not load", bg)
	}
	// HERALD_SCREENSHOTS=dir keeps the screenshot for a human to look at.
	dir := os.Getenv("HERALD_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	file := filepath.Join(dir, "builders.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil || img.Bounds().Dx() < 800 {
		t.Errorf("screenshot: %v %v", err, img)
	}
	t.Logf("screenshot of /builders: %s (%d bytes)", file, len(shot))
	if p := problems(); len(p) > 0 {
		t.Errorf("browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}
