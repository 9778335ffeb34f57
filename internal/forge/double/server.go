package double

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Server is what the API doubles of the forges built on it (githubtest,
// gitlabtest, giteatest, bitbuckettest, stashtest) share: the request log,
// a loopback server for a test, and a rate-limit window (githubtest keeps
// its own, which counts the requests used for its headers). A double
// embeds it, so its Requests, Wait, Problems and Close are the double's. Safe for concurrent use.
type Server[R any] struct {
	// Log is where the double's handler records requests, problems and
	// queued faults.
	Log Log[R]
	// Rate is the double's rate limit; the zero Rate has none.
	Rate Rate

	srv  *httptest.Server
	root string
}

// Start serves h on a loopback port for the length of the test, and at
// its end fails the test with every problem seen, prefixed by name
// ("gitlabtest").
func (s *Server[R]) Start(tb testing.TB, name string, h http.Handler) {
	tb.Helper()
	s.srv = httptest.NewServer(h)
	s.root = s.srv.URL
	tb.Cleanup(func() {
		s.srv.Close()
		for _, p := range s.Log.Problems() {
			tb.Errorf("%s: %s", name, p)
		}
	})
}

// Root is the address Start serves on, http://127.0.0.1:PORT.
func (s *Server[R]) Root() string { return s.root }

// Close stops a double started for a test before the test ends. It is
// idempotent.
func (s *Server[R]) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// Requests returns the requests served, oldest first.
func (s *Server[R]) Requests() []R { return s.Log.All() }

// Wait returns the requests once n have been served, or an error when ctx
// ends first.
func (s *Server[R]) Wait(ctx context.Context, n int) ([]R, error) { return s.Log.Wait(ctx, n) }

// Problems lists the requests the real service would have refused that a
// correct client never sends.
func (s *Server[R]) Problems() []string { return s.Log.Problems() }

// Rate is a fixed-window rate limit: Limit requests per Window.
type Rate struct {
	Limit  int           // 0: no limit
	Window time.Duration // default a minute
	Now    func() time.Time

	mu    sync.Mutex
	reset time.Time
	used  int
}

// Take counts a request. over is true once the window's requests are
// used up; reset is when the window ends, now the time of the request.
func (r *Rate) Take() (over bool, now, reset time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now = time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	if r.Limit <= 0 {
		return false, now, now
	}
	window := r.Window
	if window <= 0 {
		window = time.Minute
	}
	if r.reset.IsZero() || !now.Before(r.reset) {
		r.reset, r.used = now.Add(window), 0
	}
	r.used++
	return r.used > r.Limit, now, r.reset
}

// Seconds is d in whole seconds, rounded up: a Retry-After value.
func Seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }
