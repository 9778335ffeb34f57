package testkit

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
)

// The shared set-up of the forge targets' tests (gitlab, gitea,
// bitbucket) and of their API doubles' tests.

// Do sends method url with body and header (name, value pairs; a value ""
// removes the header) through c, and returns the answer's status code,
// headers and body.
func Do(t testing.TB, c *http.Client, method, url, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

// WaitFor returns what wait (an API double's Wait) returns once n
// requests have arrived, failing the test after a minute.
func WaitFor[R any](t testing.TB, wait func(context.Context, int) ([]R, error), n int) []R {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reqs, err := wait(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return reqs
}

// Report reports an event of kind about b to r, within ten seconds.
func Report(t testing.TB, r status.Reporter, kind status.Kind, b *status.Build) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.Report(ctx, status.Event{Kind: kind, Build: b})
}

// HubBuilds is the benchmark of a commit-status target, "statuses per
// second through a Hub to the local double": per iteration, 1,000 builds
// (build(iter, i) makes the i-th) start and finish through a Hub into r,
// and the clock runs until wait (the double's Wait) has seen all the
// statuses so far. It reports statuses/s.
func HubBuilds[R any](b *testing.B, r status.Reporter, build func(iter, i int) *status.Build, wait func(context.Context, int) ([]R, error)) {
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler), QueueSize: 4096})
	hub.Add(r)
	defer hub.Shutdown(context.Background())
	b.ReportAllocs()
	var elapsed time.Duration
	total := 0
	for iter := range b.N {
		b.StopTimer()
		evs := make([]status.Event, 0, 2000)
		for i := range 1000 {
			done := build(iter, i)
			started := done.Clone()
			started.Finished, started.Result = time.Time{}, status.Success
			evs = append(evs, status.Event{Kind: status.BuildStarted, Build: started},
				status.Event{Kind: status.BuildFinished, Build: done})
		}
		b.StartTimer()
		start := time.Now()
		for _, e := range evs {
			hub.Publish(e)
		}
		total += len(evs)
		WaitFor(b, wait, total)
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "statuses/s")
}

// NewProblem runs f and checks what it added to problems (an API double's
// Problems): nothing when want is "", else one problem containing want.
func NewProblem(t testing.TB, problems func() []string, want string, f func()) {
	t.Helper()
	before := len(problems())
	f()
	got := problems()[before:]
	switch {
	case want == "" && len(got) > 0:
		t.Errorf("unexpected problems: %q", got)
	case want != "" && (len(got) != 1 || !strings.Contains(got[0], want)):
		t.Errorf("problems %q, want one containing %q", got, want)
	}
}
