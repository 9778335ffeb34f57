package hooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
)

// BenchmarkGitHubPush compares, in one run, verifying (HMAC-SHA256) and
// decoding a GitHub push of 1 and 25 commits:
//
//   - stdlib: the lean baseline of ANCHORS.md — read the body, hmac.Equal,
//     encoding/json into a minimal struct of the fields Buildbot uses; no
//     changes built, no response written.
//
//   - parse: this package's verify and decode, building the changes too:
//     pooled HMAC and decoder, jsonReader.
//
//   - handler: the whole Handler.ServeHTTP path — also builds the
//     []status.Change, calls OnChanges and writes the response.
//
//     go test -run '^$' -bench GitHubPush -benchmem ./hooks/
func BenchmarkGitHubPush(b *testing.B) {
	const secret = "bench-secret"
	for _, size := range []struct{ name, file string }{{"1commit", "github/push.json"}, {"25commits", "github/push-25.json"}} {
		body := readTestdata(b, size.file)
		sig := sig256(secret, body)
		newReq := func() *http.Request {
			r := httptest.NewRequest("POST", "/change_hook/github", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-GitHub-Event", "push")
			r.Header.Set("X-Hub-Signature-256", sig)
			return r
		}

		b.Run(size.name+"/stdlib", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			n, cpu0 := 0, cpuTime()
			for b.Loop() {
				n++
				r := newReq()
				if n := baselinePush(b, r, secret); n == 0 {
					b.Fatal("no commit decoded")
				}
			}
			reportCPU(b, n, cpu0)
		})

		gh := &GitHub{Secret: secret}
		gh.setup()
		b.Run(size.name+"/parse", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			var buf bytes.Buffer
			n, cpu0 := 0, cpuTime()
			for b.Loop() {
				n++
				r := newReq()
				buf.Reset()
				buf.Grow(int(r.ContentLength))
				if _, err := buf.ReadFrom(r.Body); err != nil {
					b.Fatal(err)
				}
				payload := buf.Bytes()
				if err := hubSignature(gh.sha256, payload, r.Header.Get("X-Hub-Signature-256"), "X-Hub-Signature-256", "sha256"); err != nil {
					b.Fatal(err)
				}
				changes, err := gh.push(payload)
				if err != nil || len(changes) == 0 {
					b.Fatal(err)
				}
			}
			reportCPU(b, n, cpu0)
		})

		h, err := New(Options{
			Dialects:    []Dialect{&GitHub{Secret: secret}},
			OnChanges:   func(context.Context, string, []status.Change) error { return nil },
			Logger:      discardLogger(),
			DedupWindow: -1,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(size.name+"/handler", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			w := &discardWriter{h: http.Header{}}
			n, cpu0 := 0, cpuTime()
			for b.Loop() {
				n++
				clear(w.h)
				h.ServeHTTP(w, newReq())
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			}
			reportCPU(b, n, cpu0)
		})
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// baselinePush is what a careful handler written with the standard library
// alone does: it is the figure to beat.
func baselinePush(b *testing.B, r *http.Request, secret string) int {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		b.Fatal(err)
	}
	want, err := hex.DecodeString(strings.TrimPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256="))
	if err != nil {
		b.Fatal(err)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), want) {
		b.Fatal("signature")
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
		b.Fatal(err)
	}
	return len(p.Commits)
}

// BenchmarkGitHubPushLoopback posts a signed 25-commit push over loopback
// HTTP, client and server in one process: requests/s end to end, to set
// beside Buildbot's ≈3.5 req/s (ANCHORS.md) and an empty handler's 22k.
//
//	go test -run '^$' -bench GitHubPushLoopback ./hooks/
func BenchmarkGitHubPushLoopback(b *testing.B) {
	const secret = "bench-secret"
	body := readTestdata(b, "github/push-25.json")
	sig := sig256(secret, body)
	h, err := New(Options{
		Dialects:    []Dialect{&GitHub{Secret: secret, Strict: true}},
		OnChanges:   func(context.Context, string, []status.Change) error { return nil },
		Logger:      discardLogger(),
		DedupWindow: -1,
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := srv.Client()
	url := srv.URL + "/change_hook/github"
	post := func() error {
		r, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-GitHub-Event", "push")
		r.Header.Set("X-Hub-Signature-256", sig)
		resp, err := client.Do(r)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	b.Run("conc1", func(b *testing.B) {
		b.ReportAllocs()
		n, cpu0 := 0, cpuTime()
		for b.Loop() {
			n++
			if err := post(); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, n, cpu0)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
	b.Run("conc4", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(2) // 2 × GOMAXPROCS(2) = 4 clients
		cpu0 := cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := post(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportCPU(b, b.N, cpu0)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

// reportCPU adds the process CPU time per operation: see cpuTime.
func reportCPU(b *testing.B, n int, cpu0 time.Duration) {
	if cpu := cpuTime(); cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu-cpu0)/float64(n), "cpu-ns/op")
	}
}
