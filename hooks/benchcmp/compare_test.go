package benchcmp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	playground "github.com/go-playground/webhooks/v6/github"
	"github.com/heraldci/herald/hooks"
	"github.com/heraldci/herald/status"
)

const secret = "bench-secret"

// BenchmarkGitHubPush: verify the HMAC-SHA256 of a push and decode it, with
// go-playground/webhooks (a typed struct of the whole payload), with the
// standard library into a minimal struct, and through the hooks Handler
// (which also builds the changes and answers).
func BenchmarkGitHubPush(b *testing.B) {
	for _, size := range []struct{ name, file string }{{"1commit", "push.json"}, {"25commits", "push-25.json"}} {
		body, err := os.ReadFile(filepath.Join("..", "testdata", "github", size.file))
		if err != nil {
			b.Fatal(err)
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		newReq := func() *http.Request {
			r := httptest.NewRequest("POST", "/change_hook/github", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-GitHub-Event", "push")
			r.Header.Set("X-Hub-Signature-256", sig)
			return r
		}

		pg, err := playground.New(playground.Options.Secret(secret))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(size.name+"/go-playground", func(b *testing.B) {
			measure(b, len(body), func() {
				p, err := pg.Parse(newReq(), playground.PushEvent)
				if err != nil || len(p.(playground.PushPayload).Commits) == 0 {
					b.Fatal(err)
				}
			})
		})
		b.Run(size.name+"/stdlib", func(b *testing.B) {
			measure(b, len(body), func() {
				if n := stdlibPush(newReq()); n == 0 {
					b.Fatal("no commit")
				}
			})
		})
		h, err := hooks.New(hooks.Options{
			Dialects:    []hooks.Dialect{&hooks.GitHub{Secret: secret, Strict: true}},
			OnChanges:   func(context.Context, string, []status.Change) error { return nil },
			Logger:      slog.New(slog.DiscardHandler),
			DedupWindow: -1,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(size.name+"/herald", func(b *testing.B) {
			w := &discard{h: http.Header{}}
			measure(b, len(body), func() {
				clear(w.h)
				h.ServeHTTP(w, newReq())
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			})
		})
	}
}

// measure runs op in b.Loop and adds the process CPU time per operation,
// which holds on a shared machine where wall time does not.
func measure(b *testing.B, bytes int, op func()) {
	b.ReportAllocs()
	b.SetBytes(int64(bytes))
	n, cpu0 := 0, cpuTime()
	for b.Loop() {
		n++
		op()
	}
	if cpu := cpuTime(); cpu > 0 {
		b.ReportMetric(float64(cpu-cpu0)/float64(n), "cpu-ns/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type discard struct {
	h    http.Header
	code int
}

func (w *discard) Header() http.Header         { return w.h }
func (w *discard) Write(p []byte) (int, error) { return len(p), nil }
func (w *discard) WriteHeader(code int)        { w.code = code }

// stdlibPush is the lean standard-library handler of ANCHORS.md.
func stdlibPush(r *http.Request) int {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return 0
	}
	want, err := hex.DecodeString(strings.TrimPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256="))
	if err != nil {
		return 0
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), want) {
		return 0
	}
	var p struct {
		Ref        string `json:"ref"`
		Deleted    bool   `json:"deleted"`
		Repository struct {
			Name     string `json:"name"`
			FullName string `json:"full_name"`
			URL      string `json:"url"`
		} `json:"repository"`
		Commits []struct {
			ID        string `json:"id"`
			Distinct  *bool  `json:"distinct"`
			Message   string `json:"message"`
			Timestamp string `json:"timestamp"`
			URL       string `json:"url"`
			Author    struct {
				Name  string `json:"name"`
				Email string `json:"email"`
			} `json:"author"`
			Added    []string `json:"added"`
			Removed  []string `json:"removed"`
			Modified []string `json:"modified"`
		} `json:"commits"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return 0
	}
	return len(p.Commits)
}
