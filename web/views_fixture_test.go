package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// t0 is the start of the fixture's history.
var t0 = statustest.Epoch

// viewsFixture is a small history covering what failures_only distinguishes:
//   - linux: last finished build failed;
//   - windows: last finished passed, the running build has a failed step;
//   - docs: passing, with a build on branch release;
//   - arm: offline, no builds;
//   - mac: passing.
func viewsFixture() *statustest.History {
	h := statustest.NewHistory(
		statustest.NewBuild("linux").Number(1).Tags("ci", "unix").Started(t0).
			Step("compile", status.Success).Step("test", status.Success).Succeeded().Build(),
		statustest.NewBuild("linux").Number(2).Tags("ci", "unix").Started(t0.Add(10*time.Minute)).
			Change(statustest.NewChange(2, "Bob <bob@example.org>")).
			Step("compile", status.Success).Step("test", status.Failure).Failed().Build(),
		statustest.NewBuild("windows").Number(1).Tags("ci").Started(t0.Add(time.Minute)).
			Step("compile", status.Success).Succeeded().Build(),
		runningWithFailedStep(),
		statustest.NewBuild("docs").Number(1).Tags("docs").Started(t0.Add(2*time.Minute)).
			Step("sphinx", status.Success).Succeeded().Build(),
		statustest.NewBuild("docs").Number(2).Tags("docs").Branch("release").Started(t0.Add(3*time.Minute)).
			Step("sphinx", status.Warnings).Result(status.Warnings).Build(),
		statustest.NewBuild("mac").Number(1).Tags("ci", "unix").Started(t0.Add(4*time.Minute)).
			Step("compile", status.Success).Succeeded().Build(),
	)
	h.AddBuilder(status.Builder{Name: "arm", Tags: []string{"ci"}, State: status.Offline})
	h.AddBuilder(status.Builder{Name: "windows", Tags: []string{"ci"}, State: status.Building, Pending: 2})
	c1 := statustest.NewChange(1, "Alice <alice@example.org>")
	c1.When = t0.Add(-time.Minute)
	h.AddChange(c1)
	c2 := statustest.NewChange(2, "Bob <bob@example.org>")
	c2.When = t0.Add(9 * time.Minute)
	c2.Comments = "fix <script>alert(1)</script> & more"
	h.AddChange(c2)
	return h
}

// runningWithFailedStep is windows #2: compile passed, test failed, lint
// still running.
func runningWithFailedStep() *status.Build {
	b := statustest.NewBuild("windows").Number(2).Tags("ci").Started(t0.Add(12*time.Minute)).
		Step("compile", status.Success).Step("test", status.Failure).Step("lint", status.Success).Running().Build()
	b.Steps[2].Finished, b.Steps[2].Text = time.Time{}, []string{"lint"}
	return b
}

// newServer returns a Server over h with a fixed clock.
func newServer(t testing.TB, h status.History, o Options) *Server {
	t.Helper()
	o.History = h
	if o.Title == "" {
		o.Title = "Fixture"
	}
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return t0.Add(30 * time.Minute) }
	t.Cleanup(func() { s.Close(t.Context()) })
	return s
}

// fetch serves one GET and returns the response and its body.
func fetch(t testing.TB, h http.Handler, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// mustGet is get expecting 200.
func mustGet(t testing.TB, h http.Handler, target string) string {
	t.Helper()
	resp, body := fetch(t, h, target)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", target, resp.Status, body)
	}
	return body
}

// liveRegion cuts a page down to its live region, which is all the views
// own: the layout around it belongs to the Server and changes on its own.
func liveRegion(t testing.TB, page string) string {
	t.Helper()
	i := strings.Index(page, `<div id="live-root"`)
	j := strings.Index(page, "\n<script src=")
	if i < 0 || j < i {
		t.Fatalf("no live region in page:\n%s", page)
	}
	return page[i:j] + "\n"
}
