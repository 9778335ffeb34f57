package web

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// axeVersion is the axe-core release .ci/install-test-deps installs.
const axeVersion = "4.14.1"

// axeScript returns axe-core's browser bundle: HERALD_AXE_JS names the
// file, or else it is where .ci/install-test-deps puts it.
func axeScript(t *testing.T) string {
	path := os.Getenv("HERALD_AXE_JS")
	if path == "" {
		cache, err := os.UserCacheDir()
		require.NoError(t, err)
		path = filepath.Join(cache, "herald", "axe-core-"+axeVersion, "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		testkit.Missing(t, "axe-core "+axeVersion+" ("+err.Error()+"): run .ci/install-test-deps")
	}
	return string(b)
}

// axeViolation is what axe.run reports for one broken rule.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []struct {
		Target         []any
		HTML           string
		FailureSummary string
	}
}

// accessibilityPages are the pages the check visits: every page of the
// page table with its path filled from the fixture, plus the raw pages.
func accessibilityPages(t *testing.T, s *Server) []string {
	fill := strings.NewReplacer("{builder}", "linux", "{number}", "2", "{step}", "test", "{id}", "1")
	pages := []string{
		"/",
		"/builders/linux/builds/2/steps/test/logs/stdio",
		"/buildstatus?builder=linux&number=2",
		"/no-such-page",                 // the error page
		"/waterfall?show_events=true",   // with worker and master events
		"/builders/" + hostileEscaped(), // a builder named like a script
		"/builders/palette/builds/1",
		"/builders/palette/builds/1/steps/step-success/logs/stdio",
	}
	for _, p := range s.pageTable() {
		if p.pattern == "/buildstatus" {
			continue // needs arguments, listed above
		}
		pages = append(pages, fill.Replace(p.pattern))
	}
	for _, p := range pages {
		require.NotContains(t, p, "{", "fill in the path parameters of %s", p)
	}
	return pages
}

func hostileEscaped() string {
	return strings.NewReplacer("<", "%3C", ">", "%3E", `"`, "%22", " ", "%20", "/", "%2F").Replace(hostile)
}

// TestAccessibility runs axe-core in Chromium on every page, with every
// action form shown, and fails on any serious or critical violation (colour
// contrast, missing labels, empty headers...). Moderate and minor ones are
// logged.
func TestAccessibility(t *testing.T) {
	axe := axeScript(t)
	rules := map[Action]Rule{}
	for _, a := range Actions() {
		rules[a] = Always
	}
	// Beside the fixture, a builder with a build and a step of every
	// result, and a log in every ANSI colour, so every colour of the
	// palette is checked.
	h := fixture()
	for i, r := range status.AllResults() {
		b := statustest.NewBuild("palette").Number(i + 1).Started(t0.Add(time.Duration(i) * time.Minute))
		for _, sr := range status.AllResults() {
			b.Step("step-"+sr.String(), sr)
		}
		h.AddBuild(b.Result(r).Build())
	}
	var ansi strings.Builder
	for c := range 8 {
		fmt.Fprintf(&ansi, "\x1b[3%dmcolour %d\x1b[0m \x1b[9%dmbright %d\x1b[0m\n", c, c, c, c+8)
	}
	h.SetLog(status.LogRef{Builder: "palette", Build: 1, Step: "step-success", Name: "stdio"}, ansi.String())
	s, _ := newTestServer(t, Options{Title: "Accessibility", History: h, Control: &statustest.Control{}, Authz: Authz{
		Auth: auth.Users(map[string]status.Secret{"alice": "wonderland"}), Rules: rules,
	}})
	base := "http://" + listenLoopback(t, s)
	ctx, _ := browser(t)

	for _, p := range accessibilityPages(t, s) {
		_, err := chromedp.RunResponse(ctx, chromedp.Navigate(base+p))
		require.NoError(t, err, p)
		_, err = chromedp.Run(ctx, chromedp.Evaluate[any](axe))
		require.NoError(t, err, "injecting axe-core into %s", p)
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v => ({
				id: v.id, impact: v.impact, help: v.help,
				nodes: v.nodes.map(n => ({target: n.target, html: n.html, failureSummary: n.failureSummary}))}))))`,
			chromedp.EvalAwaitPromise))
		require.NoError(t, err, "running axe-core on %s", p)
		var vs []axeViolation
		require.NoError(t, json.Unmarshal([]byte(out), &vs))
		for _, v := range vs {
			msg := p + ": " + v.Impact + " " + v.ID + " (" + v.Help + ")"
			for i, n := range v.Nodes {
				if i == 3 {
					msg += "\n\t... " + strings.Repeat("", 0) + "and more"
					break
				}
				msg += "\n\t" + n.HTML + "\n\t\t" + strings.ReplaceAll(n.FailureSummary, "\n", " ")
			}
			if slices.Contains([]string{"serious", "critical"}, v.Impact) {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		}
	}
}
