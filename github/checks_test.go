package github

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/github/githubtest"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// appToken has the form of a GitHub App installation token, which alone
// may write check runs.
const appToken = "ghs_test0APP0installation0token000000000"

// checksReporter reports check runs to f with the logs of h.
func checksReporter(t testing.TB, f *githubtest.Server, h status.History, o Options) *Reporter {
	t.Helper()
	o.Checks, o.History = true, h
	if o.Token == "" && o.HTTPClient == nil && o.TokenSource == nil {
		o.Token = appToken
	}
	return newReporter(t, f, o)
}

// failedBuild is build n of linux: compile succeeds, lint warns, test fails.
func failedBuild(n int) *statustest.FakeBuild {
	return build(n).Step("compile", status.Success).Step("lint", status.Warnings).Step("test", status.Failure).
		Blame("Alice <alice@example.org>", "bob_the_builder").Failed()
}

// logRef is the stdio log of a step of build n of linux.
func logRef(n int, step string) status.LogRef {
	return status.LogRef{Builder: "linux", Build: n, Step: step, Name: "stdio"}
}

// checkLines prints requests with their JSON bodies indented, for golden
// files.
func checkLines(t *testing.T, reqs []githubtest.Request) string {
	var sb strings.Builder
	for _, r := range reqs {
		fmt.Fprintf(&sb, "%s %s -> %d\n", r.Method, r.Path, r.Code)
		if len(r.Body) > 0 {
			var buf bytes.Buffer
			require.NoError(t, json.Indent(&buf, r.Body, "", "  "))
			sb.Write(buf.Bytes())
			sb.WriteString("\n")
		}
	}
	return sb.String()
}

// annotationsIn counts the annotations of a request's body.
func annotationsIn(t *testing.T, r githubtest.Request) int {
	var body struct {
		Output struct {
			Annotations []json.RawMessage `json:"annotations"`
		} `json:"output"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &body))
	return len(body.Output.Annotations)
}

// A failing build through a Hub: the run is created in_progress when it
// starts and completed when it ends, with the summary, the failing step's
// log tail and annotations of the lines naming places; the bodies are
// golden.
func TestCheckRunThroughHub(t *testing.T) {
	f := newFakeGitHub(t, appToken, "octo/hello")
	h := statustest.NewHistory()
	h.SetLog(logRef(7, "lint"), "lint ./...\n./pkg/util.go:3:1: exported function Do should have comment\n")
	h.SetLog(logRef(7, "test"), strings.Join([]string{
		"=== RUN   TestAdd",
		"    add_test.go:12: got 3, want 4",
		"--- FAIL: TestAdd (0.00s)",
		"\x1b[31mFAIL\x1b[0m\tgithub.com/octo/hello\t0.01s",
		"/usr/lib/go/src/testing/testing.go:1689: outside the checkout",
		"internal/x.c:7:9: warning: unused variable `y` with ```fences```",
	}, "\n"))
	r := checksReporter(t, f, h, Options{})
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	hub.Add(r)
	for _, e := range failedBuild(7).Events() {
		hub.Publish(e)
	}
	require.NoError(t, hub.Shutdown(context.Background()))
	runs := f.CheckRuns("octo", "hello", sha)
	require.Len(t, runs, 1)
	run := runs[0]
	assert.Equal(t, "completed", run.Status)
	assert.Equal(t, "failure", run.Conclusion)
	assert.Equal(t, "herald/linux", run.Name)
	assert.Equal(t, "linux/7", run.ExternalID)
	assert.Equal(t, "https://ci.example.org/builders/linux/builds/7", run.DetailsURL)
	assert.Equal(t, "Build #7 failed: failed test", run.Title)
	assert.Equal(t, []githubtest.Annotation{
		{Path: "pkg/util.go", StartLine: 3, EndLine: 3, StartColumn: 1, EndColumn: 1, Level: "warning", Message: "exported function Do should have comment"},
		{Path: "add_test.go", StartLine: 12, EndLine: 12, Level: "failure", Message: "got 3, want 4"},
		{Path: "internal/x.c", StartLine: 7, EndLine: 7, StartColumn: 9, EndColumn: 9, Level: "warning", Message: "warning: unused variable `y` with ```fences```"},
	}, run.Annotations)
	assert.Contains(t, run.Text, "````\n=== RUN   TestAdd\n", "a fence longer than the log's backtick runs")
	assert.Contains(t, run.Summary, "| test | **failure** |")
	assert.Contains(t, run.Summary, `**Blamelist:** Alice \<alice@example.org\>, bob\_the\_builder`)
	golden(t, "checks.golden", checkLines(t, f.Requests()))
}

// A log of 500 lines: the text holds exactly the last 30, in a fenced
// block, and every line naming file:line anywhere in the log is annotated.
func TestCheckRunLogTail(t *testing.T) {
	f := newFakeGitHub(t, appToken, "octo/hello")
	var log []string
	for i := 1; i <= 500; i++ {
		switch i {
		case 40, 250, 490:
			log = append(log, fmt.Sprintf("./cmd/tool/main.go:%d:2: undefined: thing%d", i, i))
		default:
			log = append(log, fmt.Sprintf("line %d of the output", i))
		}
	}
	h := statustest.NewHistory()
	h.SetLog(logRef(3, "test"), strings.Join(log, "\n")+"\n")
	r := checksReporter(t, f, h, Options{})
	b := build(3).Step("test", status.Failure).Failed()
	require.NoError(t, report(t, r, status.BuildStarted, b.Running().Build()))
	require.NoError(t, report(t, r, status.BuildFinished, build(3).Step("test", status.Failure).Failed().Build()))

	runs := f.CheckRuns("octo", "hello", sha)
	require.Len(t, runs, 1)
	head, block, ok := strings.Cut(runs[0].Text, "```\n")
	require.True(t, ok, "a fenced block in %q", runs[0].Text)
	assert.Equal(t, "The last 30 lines of the log stdio of the step test:\n\n", head)
	body, ok := strings.CutSuffix(block, "\n```\n")
	require.True(t, ok)
	assert.Equal(t, log[470:], strings.Split(body, "\n"))
	var lines []int
	for _, a := range runs[0].Annotations {
		assert.Equal(t, "cmd/tool/main.go", a.Path)
		assert.Equal(t, "failure", a.Level)
		lines = append(lines, a.StartLine)
	}
	assert.Equal(t, []int{40, 250, 490}, lines)

	// LogLines is configurable.
	f2 := newFakeGitHub(t, appToken, "octo/hello")
	r2 := checksReporter(t, f2, h, Options{LogLines: 5})
	require.NoError(t, report(t, r2, status.BuildFinished, build(3).Step("test", status.Failure).Failed().Build()))
	assert.True(t, strings.HasSuffix(f2.CheckRuns("octo", "hello", sha)[0].Text, "```\n"+strings.Join(log[495:], "\n")+"\n```\n"))
}

// A text longer than GitHub takes keeps the last lines that fit.
func TestCheckRunTextCapped(t *testing.T) {
	f := newFakeGitHub(t, appToken, "octo/hello")
	long := strings.Repeat("é", 2000) // 4000 bytes: under the line limit
	var log strings.Builder
	for i := range 100 {
		fmt.Fprintf(&log, "%03d %s\n", i, long)
	}
	h := statustest.NewHistory()
	h.SetLog(logRef(1, "test"), log.String())
	r := checksReporter(t, f, h, Options{LogLines: 100})
	require.NoError(t, report(t, r, status.BuildFinished, build(1).Step("test", status.Failure).Failed().Build()))
	text := f.CheckRuns("octo", "hello", sha)[0].Text
	assert.LessOrEqual(t, utf8.RuneCountInString(text), githubtest.MaxOutputText)
	assert.Greater(t, utf8.RuneCountInString(text), githubtest.MaxOutputText-2100, "as many lines as fit")
	assert.True(t, strings.HasSuffix(text, "099 "+long+"\n```\n"), "the last line ends the text")
	assert.False(t, strings.Contains(text, "000 "), "the first lines are dropped")
}

// manyPlaces is a log naming n places.
func manyPlaces(n int) string {
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "src/file%d.go:%d: problem %d\n", i, i, i)
	}
	return sb.String()
}

// 120 annotations go in batches of 50: three updates after the create.
func TestCheckRunAnnotationBatches(t *testing.T) {
	f := newFakeGitHub(t, appToken, "octo/hello")
	h := statustest.NewHistory()
	h.SetLog(logRef(2, "test"), manyPlaces(120))
	r := checksReporter(t, f, h, Options{})
	require.NoError(t, report(t, r, status.BuildStarted, build(2).Build()))
	require.NoError(t, report(t, r, status.BuildFinished, build(2).Step("test", status.Failure).Failed().Build()))
	reqs := f.Requests()
	require.Len(t, reqs, 4)
	assert.Equal(t, "POST", reqs[0].Method)
	var counts []int
	for _, q := range reqs[1:] {
		assert.Equal(t, "PATCH", q.Method)
		assert.Equal(t, reqs[0].CheckRun, q.CheckRun, "the run the start created")
		counts = append(counts, annotationsIn(t, q))
	}
	assert.Equal(t, []int{50, 50, 20}, counts)
	runs := f.CheckRuns("octo", "hello", sha)
	require.Len(t, runs, 1)
	require.Len(t, runs[0].Annotations, 120)
	assert.Equal(t, "src/file120.go", runs[0].Annotations[119].Path)
	assert.Equal(t, "failure", runs[0].Conclusion)

	// The event again (a Hub's retry after a later failure): nothing sent.
	require.NoError(t, report(t, r, status.BuildFinished, build(2).Step("test", status.Failure).Failed().Build()))
	assert.Len(t, f.Requests(), 4)
}

// A batch GitHub fails is sent again when the event is, without
// repeating those that went through.
func TestCheckRunResumesAfterFailure(t *testing.T) {
	f := newFakeGitHub(t, appToken, "octo/hello")
	h := statustest.NewHistory()
	h.SetLog(logRef(2, "test"), manyPlaces(120))
	r := checksReporter(t, f, h, Options{})
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler),
		Retry: status.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Jitter: -1}})
	hub.Add(r)
	b := build(2).Step("test", status.Failure).Failed()
	hub.Publish(b.Events()[0])
	wait(t, f, 1)
	f.Fail(githubtest.Reply(http.StatusOK, `{"id":1}`), githubtest.Reply(http.StatusBadGateway, `{"message":"Server Error"}`))
	for _, e := range b.Events()[1:] {
		hub.Publish(e)
	}
	require.NoError(t, hub.Shutdown(context.Background()))
	var codes []int
	for _, q := range f.Requests() {
		codes = append(codes, q.Code)
	}
	// The first update was answered (by the queued 200) without GitHub
	// keeping it, so the double's run lacks its 50: that is the answer's
	// doing. What matters is the order and that nothing is sent twice.
	assert.Equal(t, []int{201, 200, 502, 200, 200}, codes)
	assert.Len(t, f.CheckRuns("octo", "hello", sha)[0].Annotations, 70)
	assert.Equal(t, uint64(1), hub.Stats()[0].Retried)
}

// After a restart the reporter does not know the run the start created:
// the end creates a run completed, and adds the rest of the annotations.
func TestCheckRunAfterRestart(t *testing.T) {
	f := newFakeGitHub(t, appToken, "octo/hello")
	h := statustest.NewHistory()
	h.SetLog(logRef(4, "test"), manyPlaces(120))
	before := checksReporter(t, f, h, Options{})
	require.NoError(t, report(t, before, status.BuildStarted, build(4).Build()))
	after := checksReporter(t, f, h, Options{})
	require.NoError(t, report(t, after, status.BuildFinished, build(4).Step("test", status.Failure).Failed().Build()))
	reqs := f.Requests()
	require.Len(t, reqs, 4)
	assert.Equal(t, []string{"POST", "POST", "PATCH", "PATCH"}, []string{reqs[0].Method, reqs[1].Method, reqs[2].Method, reqs[3].Method})
	assert.Equal(t, "failure", reqs[1].State, "created completed")
	assert.Equal(t, []int{50, 50, 20}, []int{annotationsIn(t, reqs[1]), annotationsIn(t, reqs[2]), annotationsIn(t, reqs[3])})
	runs := f.CheckRuns("octo", "hello", sha)
	require.Len(t, runs, 2)
	assert.Equal(t, "in_progress", runs[0].Status, "the run the lost start made")
	assert.Equal(t, "completed", runs[1].Status)
	assert.Len(t, runs[1].Annotations, 120)
	assert.False(t, runs[1].StartedAt.IsZero())
}

// Every result through the default conclusions and a table that changes
// one.
func TestConclusions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table Conclusions
		want  map[status.Result]string
	}{
		{"default", nil, map[status.Result]string{status.Success: "success", status.Warnings: "success", status.Failure: "failure",
			status.Skipped: "skipped", status.Exception: "failure", status.Retry: "neutral", status.Cancelled: "cancelled"}},
		{"warnings neutral", Conclusions{status.Warnings: ConclusionNeutral, status.Exception: ConclusionActionRequired},
			map[status.Result]string{status.Success: "success", status.Warnings: "neutral", status.Failure: "failure",
				status.Skipped: "skipped", status.Exception: "action_required", status.Retry: "neutral", status.Cancelled: "cancelled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGitHub(t, appToken, "octo/hello")
			r := checksReporter(t, f, nil, Options{Conclusions: tc.table})
			for i, res := range status.AllResults() {
				require.NoError(t, report(t, r, status.BuildFinished, build(3+i).Result(res).Build()))
				reqs := f.Requests()
				assert.Equal(t, tc.want[res], reqs[len(reqs)-1].State, "result %v", res)
			}
		})
	}
}

// A late end of an older build still completes its run; a late start of
// an older build creates none (it would hide the newer run).
func TestCheckRunLateEvents(t *testing.T) {
	f := newFakeGitHub(t, appToken, "octo/hello")
	r := checksReporter(t, f, nil, Options{})
	require.NoError(t, report(t, r, status.BuildStarted, build(1).Build()))
	require.NoError(t, report(t, r, status.BuildStarted, build(2).Build()))
	require.NoError(t, report(t, r, status.BuildFinished, build(1).Succeeded().Build()))
	require.NoError(t, report(t, r, status.BuildStarted, build(0).Build()))
	runs := f.CheckRuns("octo", "hello", sha)
	require.Len(t, runs, 2)
	assert.Equal(t, []string{"completed", "in_progress"}, []string{runs[0].Status, runs[1].Status})
	assert.Equal(t, []string{"linux/1", "linux/2"}, []string{runs[0].ExternalID, runs[1].ExternalID})
}

func TestCheckRunErrors(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name      string
		answer    githubtest.Answer
		token     string // default appToken
		accept    string // the token the double takes: default appToken
		repo      string
		retryable bool
		after     time.Duration
		msg       string
	}{
		{name: "personal access token", token: testToken, accept: testToken, msg: `HTTP 403 Forbidden: You must authenticate via a GitHub App.: only a GitHub App may write check runs`},
		{name: "401", token: "ghs_wrong", msg: "HTTP 401 Unauthorized: Bad credentials: check Options.Token"},
		{name: "404", repo: "octo/nope", msg: `setting in_progress on octo/nope@0123456789ab (builder linux #1, check run "herald/linux"): HTTP 404 Not Found`},
		{name: "422", answer: githubtest.Reply(http.StatusUnprocessableEntity, `{"message":"No commit found for SHA: 0123"}`), msg: "HTTP 422 Unprocessable Entity: No commit found for SHA: 0123: GitHub refused the check run"},
		{name: "429", answer: reply(http.StatusTooManyRequests, "Retry-After", "7", `{"message":"Too Many Requests"}`), retryable: true, after: 7 * time.Second},
		{name: "secondary limit", answer: githubtest.SecondaryLimit("45"), retryable: true, after: 45 * time.Second, msg: "secondary rate limit"},
		{name: "primary limit", answer: githubtest.PrimaryLimit(now.Add(30 * time.Second)), retryable: true, after: 31 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			accept := cmp.Or(tc.accept, appToken)
			f := newFakeGitHub(t, accept, "octo/hello")
			if tc.answer != nil {
				f.Fail(tc.answer)
			}
			repo := "octo/hello"
			if tc.repo != "" {
				repo = tc.repo
			}
			r := checksReporter(t, f, nil, Options{Token: status.Secret(tc.token)})
			err := report(t, r, status.BuildStarted, build(1).Repository("https://github.com/"+repo).Build())
			require.Error(t, err)
			after, retry := status.RetryAfter(err)
			assert.Equal(t, tc.retryable, retry, "%v", err)
			assert.InDelta(t, tc.after.Seconds(), after.Seconds(), 2, "%v", err)
			assert.Contains(t, err.Error(), tc.msg)
			var api *APIError
			require.ErrorAs(t, err, &api)
			assert.Equal(t, repo, api.Repo)
			assert.Equal(t, sha, api.SHA)
			assert.Equal(t, "herald/linux", api.Context)
			assert.Contains(t, api.Label, "builder linux #1")
		})
	}
}

// A step's log the History cannot give: the run completes without text.
func TestCheckRunLogMissing(t *testing.T) {
	f := newFakeGitHub(t, appToken, "octo/hello")
	var logs bytes.Buffer
	r := checksReporter(t, f, statustest.NewHistory(), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, report(t, r, status.BuildFinished, failedBuild(1).Build()))
	runs := f.CheckRuns("octo", "hello", sha)
	require.Len(t, runs, 1)
	assert.Empty(t, runs[0].Text)
	assert.Empty(t, runs[0].Annotations)
	assert.Contains(t, logs.String(), "could not be read")
}

// Absolute paths under Options.Checkout are annotated relative to it.
func TestCheckRunCheckout(t *testing.T) {
	f := newFakeGitHub(t, appToken, "octo/hello")
	h := statustest.NewHistory()
	h.SetLog(logRef(1, "test"), "/work/linux/build/pkg/a.go:3: bad\n/usr/include/stdio.h:4: elsewhere\n")
	r := checksReporter(t, f, h, Options{Checkout: status.MustInterpolate("/work/%(prop:buildername)s/build")})
	require.NoError(t, report(t, r, status.BuildFinished, build(1).Step("test", status.Failure).Failed().Build()))
	assert.Equal(t, []githubtest.Annotation{{Path: "pkg/a.go", StartLine: 3, EndLine: 3, Level: "failure", Message: "bad"}},
		f.CheckRuns("octo", "hello", sha)[0].Annotations)
}

func TestChecksOptions(t *testing.T) {
	_, err := New(Options{Token: "x", Checks: true, LogLines: -1, Conclusions: Conclusions{status.Failure: "red"}})
	require.Error(t, err)
	assert.Equal(t, "github: Options.Conclusions maps failure → \"red\": the states are success, failure, neutral, cancelled, skipped, timed_out, action_required\n"+
		"github: Options.LogLines is -1: set a positive number of lines, or 0 for the default (30)", err.Error())
	_, err = New(Options{Token: "x", History: statustest.NewHistory(), LogLines: 10})
	require.Error(t, err)
	assert.Equal(t, "github: Options.History is set but Options.Checks is not: it applies to check runs only; set Options.Checks\n"+
		"github: Options.LogLines is set but Options.Checks is not: it applies to check runs only; set Options.Checks", err.Error())
}

func TestChecksConformance(t *testing.T) {
	f := newFakeGitHub(t, appToken, "example/repo")
	h := statustest.NewHistory()
	h.SetLog(status.LogRef{Builder: "conformance", Build: 2, Step: "test", Name: "stdio"}, "x_test.go:1: failed\n")
	statustest.Conformance(t, func() status.Reporter {
		r, err := New(Options{Token: appToken, BaseURL: f.URL(), Checks: true, History: h,
			RepoOwner: status.MustInterpolate("example"), RepoName: status.MustInterpolate("repo")})
		require.NoError(t, err)
		return r
	})
	assert.NotEmpty(t, f.Requests(), "conformance sent no check run: the check proved nothing")
}

func TestChecksHTTPConformance(t *testing.T) {
	h := statustest.NewHistory()
	h.SetLog(status.LogRef{Builder: "conformance", Build: 2, Step: "test", Name: "stdio"}, "x_test.go:1: failed\n")
	statustest.HTTPConformance(t, statustest.HTTPTarget{
		Secrets: []string{appToken},
		New: func(baseURL string, log *slog.Logger) status.Reporter {
			r, err := New(Options{Token: appToken, BaseURL: baseURL, Checks: true, History: h, Logger: log,
				RepoOwner: status.MustInterpolate("example"), RepoName: status.MustInterpolate("repo")})
			require.NoError(t, err)
			return r
		},
	})
}

// The installation token never shows, whatever goes wrong with check runs,
// even when GitHub echoes it.
func TestChecksSecretsAbsent(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFakeGitHub(t, appToken, "octo/hello")
	h := statustest.NewHistory()
	h.SetLog(logRef(1, "test"), "token "+appToken+"\nmain.go:1: leaked "+appToken+"\n")
	o := Options{Token: appToken, BaseURL: f.URL(), Logger: logger, Checks: true, History: h}
	r, err := New(o)
	require.NoError(t, err)
	defer r.Close(context.Background())
	f.Fail(githubtest.Reply(http.StatusInternalServerError, `{"message":"boom, you sent Authorization: token `+appToken+`"}`),
		githubtest.Reply(http.StatusUnprocessableEntity, `{"message":"bad `+appToken+`"}`))
	var texts []string
	for range 3 {
		texts = append(texts, fmt.Sprint(report(t, r, status.BuildFinished, build(1).Step("test", status.Failure).Failed().Build())))
	}
	f.Close()
	texts = append(texts, fmt.Sprint(report(t, r, status.BuildStarted, build(2).Build())))
	texts = append(texts, logs.String(), fmt.Sprintf("%v %+v %#v", r, r, r), fmt.Sprintf("%v %+v %#v", o, o, o))
	all := strings.Join(texts, "\n")
	assert.NotContains(t, all, appToken)
	assert.Contains(t, all, "HTTP 500")
	assert.Contains(t, all, "HTTP 422")
}

func TestParseAnnotation(t *testing.T) {
	for _, tc := range []struct {
		line, level, checkout string
		want                  *annotation
	}{
		{"path/to/file.go:12:3: undefined: x", levelFailure, "", &annotation{"path/to/file.go", 12, 3, levelFailure, "undefined: x"}},
		{"./main.go:4: missing return", levelFailure, "", &annotation{"main.go", 4, 0, levelFailure, "missing return"}},
		{"    add_test.go:12: got 3, want 4", levelFailure, "", &annotation{"add_test.go", 12, 0, levelFailure, "got 3, want 4"}},
		{"src/a.c:10:5: warning: unused variable 'x' [-Wunused-variable]", levelFailure, "", &annotation{"src/a.c", 10, 5, levelWarning, "warning: unused variable 'x' [-Wunused-variable]"}},
		{"src/a.c:10:5: error: expected ';'", levelWarning, "", &annotation{"src/a.c", 10, 5, levelWarning, "error: expected ';'"}},
		{"/home/ci/src/app.js:1:10: Missing semicolon. [Error/semi]", levelFailure, "/home/ci/src/", &annotation{"app.js", 1, 10, levelFailure, "Missing semicolon. [Error/semi]"}},
		{"Makefile:12: recipe for target 'all' failed", levelFailure, "", &annotation{"Makefile", 12, 0, levelFailure, "recipe for target 'all' failed"}},
		{`src\win\a.cpp:3: oops`, levelFailure, "", &annotation{"src/win/a.cpp", 3, 0, levelFailure, "oops"}},
		{"\x1b[1mpkg/x.go:2:1:\x1b[0m bad", levelFailure, "", &annotation{"pkg/x.go", 2, 1, levelFailure, "bad"}},
		{"a/../b.go:2: fine", levelFailure, "", &annotation{"b.go", 2, 0, levelFailure, "fine"}},
		// Not places in the repository.
		{"/usr/include/stdio.h:4: elsewhere", levelFailure, "", nil},
		{"/usr/include/stdio.h:4: elsewhere", levelFailure, "/home/ci", nil},
		{"/home/ci-other/x.go:4: sibling", levelFailure, "/home/ci", nil},
		{"../outside.go:1: up", levelFailure, "", nil},
		{"10:30:45: a time", levelFailure, "", nil},
		{"file.go:0: line zero", levelFailure, "", nil},
		{"file.go:12:", levelFailure, "", nil},
		{"file.go:12 +0x1d", levelFailure, "", nil},
		{"see https://example.org:443: link", levelFailure, "", nil},
		{"C:\\src\\a.c:3: drive", levelFailure, "", nil},
		{"x.go:1234567890: too long a number", levelFailure, "", nil},
		{"", levelFailure, "", nil},
	} {
		got, ok := parseAnnotation(tc.line, tc.level, tc.checkout)
		if tc.want == nil {
			assert.False(t, ok, "%q gave %+v", tc.line, got)
			continue
		}
		if assert.True(t, ok, "%q", tc.line) {
			assert.Equal(t, *tc.want, got, "%q", tc.line)
		}
	}
}

// FuzzAnnotations: whatever a log holds, an annotation is a relative path
// inside the repository, on a positive line, with a short non-empty
// message GitHub takes.
func FuzzAnnotations(f *testing.F) {
	f.Add("path/to/file.go:12:3: message", "")
	f.Add("./a/b.c:1: x", "/ck")
	f.Add("/ck/a.go:9:9: y", "/ck")
	f.Add("../../etc/passwd:1: z", "")
	f.Add("a\\..\\..\\b:1: w", "")
	f.Add("\x1b[31ma.go:1:1:\x1b[0m \xff", "")
	f.Fuzz(func(t *testing.T, line, checkout string) {
		a, ok := parseAnnotation(line, levelFailure, checkout)
		if !ok {
			return
		}
		if a.Path == "" || strings.HasPrefix(a.Path, "/") || strings.HasPrefix(a.Path, "./") || a.Path == ".." ||
			strings.HasPrefix(a.Path, "../") || strings.Contains(a.Path, "/../") || strings.Contains(a.Path, `\`) {
			t.Fatalf("path %q from %q", a.Path, line)
		}
		if a.Line < 1 || a.Column < 0 || a.Message == "" || len(a.Message) > maxAnnotationMessage {
			t.Fatalf("%+v from %q", a, line)
		}
		if a.Level != levelFailure && a.Level != levelWarning {
			t.Fatalf("level %q", a.Level)
		}
	})
}

func TestReadLogLongLines(t *testing.T) {
	h := statustest.NewHistory()
	ref := logRef(1, "test")
	h.SetLog(ref, strings.Repeat("x", 100<<10)+"\r\nsecond\x00 line\nthird")
	var seen []string
	tail, err := readLog(context.Background(), h, ref, 2, func(l string) { seen = append(seen, l) })
	require.NoError(t, err)
	require.Len(t, seen, 3)
	assert.Len(t, seen[0], maxLogLine)
	assert.Equal(t, []string{"second line", "third"}, tail)

	_, err = readLog(context.Background(), h, logRef(9, "none"), 2, func(string) {})
	assert.True(t, errors.Is(err, status.ErrNotFound))
}

func TestChecksRefuseStatusTable(t *testing.T) {
	_, err := New(Options{Token: "x", Checks: true, States: BuildbotStates()})
	require.EqualError(t, err, "github: Options.States maps results to commit statuses, which Options.Checks replaces by check runs: set Options.Conclusions")
}
