package statustest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
)

// Conformance checks that reporters made by newReporter keep the Reporter
// contract:
//   - every event kind, with full subjects and about a running and a finished
//     build, is reported without a panic (kinds a reporter ignores included);
//   - concurrent Report calls are safe (run the test with -race);
//   - a Report with a cancelled context returns promptly (a reporter still
//     running after 10 seconds fails the check), and an error it returns
//     then wraps context.Canceled and is not Retryable;
//   - after Close (for Closers) no goroutine started by the reporter is left;
//   - a reporter that implements status.Logging takes a logger while it
//     reports (run the test with -race).
//
// newReporter is called once per check; the reporter may talk to a real or
// fake server the test runs. Errors other than on cancellation are allowed
// (a reporter may reject what its server refuses) but must not be Retryable
// when the server is healthy. Do not run Conformance in parallel with other
// tests of the same package: the goroutine check sees the whole process.
func Conformance(t *testing.T, newReporter func() status.Reporter) {
	t.Helper()
	running := NewBuild("conformance").Number(1).Tags("ci").Property("owner", "alice@example.org").
		Change(NewChange(1, "Alice <alice@example.org>")).Build()
	finished := NewBuild("conformance").Number(2).Tags("ci").Step("compile", status.Success).
		Step("test", status.Failure).Change(NewChange(2, "Bob <bob@example.org>")).Failed().Build()
	var events []status.Event
	events = append(events, EveryKind(running)...)
	events = append(events, EveryKind(finished)...)
	for i := range events {
		events[i].Seq = uint64(i + 1)
		events[i].Master = "conformance-master"
	}

	t.Run("EveryKind", func(t *testing.T) {
		r := newReporter()
		defer closeReporter(t, r)
		for _, e := range events {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := r.Report(ctx, e)
			cancel()
			if err != nil && status.IsRetryable(err) {
				t.Errorf("Report(%v) = %v: retryable against a healthy server", e.Kind, err)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		r := newReporter()
		defer closeReporter(t, r)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i, e := range events {
					if i%4 != g {
						continue
					}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					_ = r.Report(ctx, e)
					cancel()
				}
			}()
		}
		wg.Wait()
	})

	t.Run("CancelledContext", func(t *testing.T) {
		r := newReporter()
		defer closeReporter(t, r)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for _, e := range events {
			err, ok := reportWithin(r, ctx, e, checkBound)
			if !ok {
				t.Fatalf("Report(%v) with a cancelled context still running after %v", e.Kind, checkBound)
			}
			if err != nil && (!errors.Is(err, context.Canceled) || status.IsRetryable(err)) {
				t.Errorf("Report(%v) with a cancelled context = %v: want nil or an error wrapping context.Canceled, not retryable", e.Kind, err)
			}
		}
	})

	t.Run("InheritLoggerWhileReporting", func(t *testing.T) {
		r := newReporter()
		defer closeReporter(t, r)
		lg, ok := r.(status.Logging)
		if !ok {
			t.Skip("not a status.Logging")
		}
		discard := slog.New(slog.DiscardHandler)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				lg.InheritLogger(discard.With("reporter", "conformance"))
			}
		}()
		for _, e := range events {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = r.Report(ctx, e)
			cancel()
		}
		wg.Wait()
	})

	t.Run("NoGoroutineAfterClose", func(t *testing.T) {
		before := goroutines()
		r := newReporter()
		for _, e := range events {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = r.Report(ctx, e)
			cancel()
		}
		closeReporter(t, r)
		var left []string
		deadline := time.Now().Add(5 * time.Second)
		for {
			left = left[:0]
			for id, stack := range goroutines() {
				if _, ok := before[id]; !ok && !ignorable(stack) {
					left = append(left, stack)
				}
			}
			if len(left) == 0 || time.Now().After(deadline) {
				break
			}
			runtime.Gosched()
			time.Sleep(10 * time.Millisecond) // polling the runtime, not synchronising with the reporter
		}
		if len(left) > 0 {
			t.Errorf("%d goroutine(s) left after Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}
	})
}

// checkBound is how long a check waits for a reporter that should have
// returned: a liveness bound, so a broken reporter fails in seconds.
const checkBound = 10 * time.Second

// reportWithin runs r.Report and waits up to d for it; ok is false when it
// is still running.
func reportWithin(r status.Reporter, ctx context.Context, e status.Event, d time.Duration) (err error, ok bool) {
	done := make(chan error, 1)
	go func() { done <- r.Report(ctx, e) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		return err, true
	case <-t.C:
		return nil, false
	}
}

func closeReporter(t *testing.T, r status.Reporter) {
	t.Helper()
	if c, ok := r.(status.Closer); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

// goroutines maps goroutine IDs to their stacks.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	m := map[string]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		s := string(g)
		rest, ok := strings.CutPrefix(s, "goroutine ")
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(rest, " ")
		m[id] = s
	}
	return m
}

// ignorable tells the runtime's and the test framework's own goroutines, and
// idle HTTP keep-alive connections of other tests' servers, from leaks.
func ignorable(stack string) bool {
	for _, s := range []string{
		"testing.(*T).Run", "testing.tRunner", "runtime.goexit0", "os/signal.signal_recv",
		"statustest.goroutines", "runtime.ensureSigM", "testing.runFuzzing",
	} {
		if strings.Contains(stack, s) && !strings.Contains(stack, "created by github.com/heraldci/herald/") {
			return true
		}
	}
	return false
}
