package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"

	"github.com/chromedp/chromedp"
)

// TestWebOnTheDemoMaster drives the demo's web status with headless
// Chromium: log in as the demo user, force a build, watch it appear on the
// builder page and open one of its logs.
func TestWebOnTheDemoMaster(t *testing.T) {
	chromium := testkit.NeedBinary(t, "chromium", "apt-get install -y chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Run the demo until the test ends; read its URL from what it prints.
	pr, pw := io.Pipe()
	demoDone := make(chan error, 1)
	runCtx, stopDemo := context.WithCancel(ctx)
	go func() {
		demoDone <- run(runCtx, []string{"-addr", "127.0.0.1:0", "-speed", "20", "-seed", "3"}, pw, io.Discard)
		pw.Close()
	}()
	defer func() {
		stopDemo()
		if err := <-demoDone; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	urlLine := regexp.MustCompile(`web status: (http://\S+)/ `)
	sc := bufio.NewScanner(pr)
	var base string
	for base == "" && sc.Scan() {
		if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatal("the demo printed no web status URL")
	}
	go io.Copy(io.Discard, pr) // keep the demo's console flowing

	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(chromium), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true))
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	step := func(what string, a chromedp.Action[chromedp.Void], load bool) {
		t.Helper()
		var err error
		if load {
			_, err = chromedp.RunResponse(bctx, a)
		} else {
			err = chromedp.Do(bctx, a)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("open the builder page", chromedp.Navigate(base+"/builders/linux"), false)
	step("open the login form", chromedp.Click(`a[href^="/login"]`), true)
	step("fill it", chromedp.Steps(chromedp.WaitVisible(`#login-form`),
		chromedp.SendKeys(`input[name=username]`, "demo"), chromedp.SendKeys(`input[name=passwd]`, "demo")), false)
	step("log in", chromedp.Click(`#login-form button[type=submit]`), true)
	step("fill the force form", chromedp.Steps(chromedp.WaitVisible(`#force-form`),
		chromedp.SendKeys(`#force-form input[name=reason]`, "chromium was here")), false)
	step("force", chromedp.Click(`#force-form button[type=submit]`), true)

	// The simulated build takes a moment: reload the builder page until it
	// lists the finished build with our reason (a condition, not a sleep).
	var buildHref string
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		step("reload", chromedp.Navigate(base+"/builders/linux"), false)
		href, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(() => {
			for (const tr of document.querySelectorAll("table.builds tr")) {
				if (tr.textContent.includes("forced by demo: chromium was here")) return tr.querySelector("a").getAttribute("href");
			}
			return "";
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		buildHref = href
		if buildHref != "" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the forced build never appeared on the builder page")
		case <-tick.C:
		}
	}
	step("open the build", chromedp.Click(`a[href="`+buildHref+`"]`), true)
	step("build page", chromedp.WaitVisible(`a.log`), false)
	step("open a log", chromedp.Click(`a.log`), true)
	text, err := chromedp.Run(bctx, chromedp.Text(`pre.log`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "line 1 of") {
		t.Errorf("log text %q", text)
	}
	// The JSON tree agrees.
	resp, err := http.Get(base + "/json/builders/linux/builds/-1?as_text=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("JSON of the last build: %d", resp.StatusCode)
	}
}
