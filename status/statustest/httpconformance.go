package statustest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
)

// HTTPTarget describes a reporter that talks HTTP, for HTTPConformance.
type HTTPTarget struct {
	// New returns a reporter sending to the server at baseURL (scheme and
	// host, no path) and logging to log.
	New func(baseURL string, log *slog.Logger) status.Reporter
	// Secrets are the secrets New gave the reporter (tokens, passwords):
	// none may appear in its errors, its logs, or the reporter printed with
	// %v, %+v, %#v or as JSON.
	Secrets []string
	// Events are the events to report; the checks use the first that makes
	// the reporter send a request. Default: the life of a finished, failed
	// build with one change (NewBuild("conformance")...Events()).
	Events []status.Event
}

// HTTPConformance checks, against a server at the wire, what every HTTP
// target must do:
//   - cancelling the context while the server stalls mid-request ends
//     Report promptly with an error wrapping context.Canceled, not Retryable;
//   - an attempt whose context deadline passes while the server stalls (the
//     Hub's attempt timeout) ends with a Retryable error;
//   - 503, and 429 with Retry-After, are Retryable; 400, 401, 404 and 422
//     are permanent;
//   - the given secrets never appear in errors (even when the server echoes
//     the request's headers back in its error body), logs, or the reporter
//     printed or marshalled.
//
// Each check is bounded: a reporter that hangs fails within seconds.
func HTTPConformance(t *testing.T, target HTTPTarget) {
	t.Helper()
	events := target.Events
	if len(events) == 0 {
		events = NewBuild("conformance").Number(2).Tags("ci").Step("compile", status.Success).
			Step("test", status.Failure).Change(NewChange(2, "Bob <bob@example.org>")).Failed().Events()
		for i := range events {
			events[i].Seq, events[i].ID = uint64(i+1), fmt.Sprintf("conformance-%d", i+1)
		}
	}
	logs := &testkit.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	// A server that answers every request with status code, echoing the
	// request's headers in a JSON error body as some servers do.
	answer := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "7")
			}
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(map[string]any{"message": "conformance", "echo": r.Header})
		}
	}

	t.Run("CancelMidRequest", func(t *testing.T) {
		srv, arrived := stallingServer(t)
		r := target.New(srv.URL, logger)
		defer closeReporter(t, r)
		e, err := firstRequest(r, events, arrived, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, true)
		if e == nil {
			t.Fatalf("no event made the reporter send a request: %v", err)
		}
		note(err)
		if err == nil || !errors.Is(err, context.Canceled) || status.IsRetryable(err) {
			t.Errorf("Report(%v) cancelled mid-request = %v: want an error wrapping context.Canceled, not retryable", e.Kind, err)
		}
	})

	t.Run("AttemptTimeout", func(t *testing.T) {
		srv, arrived := stallingServer(t)
		r := target.New(srv.URL, logger)
		defer closeReporter(t, r)
		e, err := firstRequest(r, events, arrived, func() (context.Context, context.CancelFunc) {
			// What a Hub gives an attempt, with a short AttemptTimeout.
			return context.WithTimeoutCause(context.Background(), time.Second, status.ErrAttemptTimeout)
		}, false)
		if e == nil {
			t.Fatalf("no event made the reporter send a request: %v", err)
		}
		note(err)
		if err == nil || !status.IsRetryable(err) {
			t.Errorf("Report(%v) past its attempt deadline = %v: want a Retryable error", e.Kind, err)
		}
	})

	for _, c := range []struct {
		code      int
		retryable bool
	}{{503, true}, {429, true}, {400, false}, {401, false}, {404, false}, {422, false}} {
		t.Run(fmt.Sprintf("Status%d", c.code), func(t *testing.T) {
			srv := httptest.NewServer(answer(c.code))
			defer srv.Close()
			r := target.New(srv.URL, logger)
			defer closeReporter(t, r)
			var err error
			for _, e := range events {
				ctx, cancel := context.WithTimeout(context.Background(), checkBound)
				var ok bool
				err, ok = reportWithin(r, ctx, e, checkBound)
				cancel()
				if !ok {
					t.Fatalf("Report(%v) against a %d still running after %v", e.Kind, c.code, checkBound)
				}
				if err != nil {
					break
				}
			}
			note(err)
			switch {
			case err == nil:
				t.Errorf("no error from any event against a server answering %d", c.code)
			case status.IsRetryable(err) != c.retryable:
				t.Errorf("error for %d = %v: retryable %v, want %v", c.code, err, status.IsRetryable(err), c.retryable)
			}
			if c.code == 429 || c.code == 503 {
				if after, _ := status.RetryAfter(err); after != 7*time.Second {
					t.Errorf("error for %d waits %v, want the server's Retry-After of 7s", c.code, after)
				}
			}
		})
	}

	t.Run("SecretsNeverShown", func(t *testing.T) {
		r := target.New("http://127.0.0.1:1", logger)
		defer closeReporter(t, r)
		shown := map[string]string{
			"logs": logs.String(),
			"%v":   fmt.Sprintf("%v", r),
			"%+v":  fmt.Sprintf("%+v", r),
			"%#v":  fmt.Sprintf("%#v", r),
			"%s":   fmt.Sprintf("%s", r),
		}
		if b, err := json.Marshal(r); err == nil {
			shown["JSON"] = string(b)
		}
		for i, err := range errs {
			shown[fmt.Sprintf("error %d", i)] = err.Error()
		}
		for _, secret := range target.Secrets {
			if secret == "" {
				continue
			}
			for where, text := range shown {
				if strings.Contains(text, secret) {
					t.Errorf("a secret appears in %s: %s", where, text)
				}
			}
		}
	})
}

// stallingServer accepts requests and never answers; it signals each
// arrival. It is closed when the test ends.
func stallingServer(t *testing.T) (*httptest.Server, <-chan struct{}) {
	arrived := make(chan struct{}, 1)
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return srv, arrived
}

// firstRequest reports events in turn, each with a context from newCtx,
// until one makes a request arrive at the server; then it cancels that
// context if cancelOnArrival, and waits for the Report. It returns the event
// and its error, or nil when no event sent a request.
func firstRequest(r status.Reporter, events []status.Event, arrived <-chan struct{},
	newCtx func() (context.Context, context.CancelFunc), cancelOnArrival bool) (*status.Event, error) {
	for i := range events {
		ctx, cancel := newCtx()
		done := make(chan error, 1)
		go func() { done <- r.Report(ctx, events[i]) }()
		select {
		case <-done:
			cancel()
			continue // no request, or one that finished: try the next event
		case <-arrived:
		}
		if cancelOnArrival {
			cancel()
		}
		t := time.NewTimer(checkBound)
		select {
		case err := <-done:
			t.Stop()
			cancel()
			return &events[i], err
		case <-t.C:
			cancel()
			return &events[i], fmt.Errorf("statustest: Report(%v) still running %v after its request stalled", events[i].Kind, checkBound)
		}
	}
	return nil, errors.New("statustest: no request reached the server")
}
