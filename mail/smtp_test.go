package mail

import (
	"bytes"
	"context"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// smtpOptions sends to the fake server.
func smtpOptions(f *fakeSMTP) Options {
	host, port := f.hostPort()
	return Options{From: "ci@example.org", ExtraRecipients: []string{"list@example.org"}, RelayHost: host, Port: port,
		Timeout: 5 * time.Second, Logger: newLogger(&testkit.Buffer{})}
}

// hubWith runs n in a Hub that retries at once, logging into logs.
func hubWith(n status.Reporter, logs *testkit.Buffer) *status.Hub {
	h := status.NewHub(status.HubOptions{Logger: newLogger(logs),
		Retry: status.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Jitter: -1}})
	h.Add(n)
	return h
}

func shutdown(t *testing.T, h *status.Hub) status.ReporterStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return h.Stats()[0]
}

// TestTransientFaultsRetried: 421 and 451 replies, and a server that closes
// the connection in the middle of DATA, are retried by the Hub; the mail is
// delivered exactly once.
func TestTransientFaultsRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults []fault
	}{
		{"421 at MAIL then 451 at RCPT", []fault{{at: "mail", code: 421}, {at: "rcpt", code: 451}}},
		{"451 after DATA", []fault{{at: "data", code: 451}}},
		{"connection closed mid-DATA", []fault{{at: "drop"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSMTP(t, tc.faults...)
			n, err := New(smtpOptions(f))
			if err != nil {
				t.Fatal(err)
			}
			logs := &testkit.Buffer{}
			hub := hubWith(n, logs)
			hub.Publish(finished(statustest.NewBuild("linux").Number(3).Failed().Build()))
			got := f.wait(t, 1)
			st := shutdown(t, hub)
			if len(f.Deliveries()) != 1 || st.Delivered != 1 || st.Retried != uint64(len(tc.faults)) || st.Failed != 0 {
				t.Errorf("deliveries %d, stats %+v; want 1 delivery after %d retries", len(f.Deliveries()), st, len(tc.faults))
			}
			if f.Sessions() != len(tc.faults)+1 {
				t.Errorf("%d SMTP sessions, want %d", f.Sessions(), len(tc.faults)+1)
			}
			if got[0].From != "ci@example.org" || strings.Join(got[0].To, ",") != "list@example.org" {
				t.Errorf("envelope %q → %q", got[0].From, got[0].To)
			}
		})
	}
}

// TestPermanentFailure: a 550 is not retried and is logged once, with the
// server's reason.
func TestPermanentFailure(t *testing.T) {
	f := newFakeSMTP(t, fault{at: "mail", code: 550}, fault{}, fault{})
	n, err := New(smtpOptions(f))
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Buffer{}
	hub := hubWith(n, logs)
	hub.Publish(finished(statustest.NewBuild("linux").Number(3).Failed().Build()))
	st := shutdown(t, hub)
	if st.Failed != 1 || st.Retried != 0 || st.Delivered != 0 || f.Sessions() != 1 {
		t.Errorf("stats %+v after %d sessions; want one failure, no retry", st, f.Sessions())
	}
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "550") || !strings.Contains(lines[0], "scripted fault 550") || !strings.Contains(lines[0], "MAIL FROM") {
		t.Errorf("want one error line naming the 550 and its reason, got:\n%s", logs.String())
	}
}

// TestErrorClasses checks the classification of each failure directly.
func TestErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     fault
		retryable bool
		contains  string
	}{
		{"421", fault{at: "mail", code: 421}, true, "421"},
		{"452 rcpt", fault{at: "rcpt", code: 452}, true, "452"},
		{"554 data", fault{at: "data", code: 554}, false, "554"},
		{"550 rcpt", fault{at: "rcpt", code: 550}, false, "every recipient was refused"},
		{"drop", fault{at: "drop"}, true, "end of DATA"},
	} {
		f := newFakeSMTP(t, tc.fault)
		n, err := New(smtpOptions(f))
		if err != nil {
			t.Fatal(err)
		}
		err = n.Report(context.Background(), finished(statustest.NewBuild("b").Failed().Build()))
		if err == nil || status.IsRetryable(err) != tc.retryable || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("%s: err = %v (retryable %v), want retryable=%v containing %q", tc.name, err, status.IsRetryable(err), tc.retryable, tc.contains)
		}
	}
	// Nobody listening: retryable.
	port := freePort(t)
	n, _ := New(Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"}, RelayHost: "127.0.0.1", Port: port})
	err := n.Report(context.Background(), finished(statustest.NewBuild("b").Failed().Build()))
	if !status.IsRetryable(err) {
		t.Errorf("connection refused: %v, want retryable", err)
	}
}

// TestPartialRecipients: one refused recipient does not stop the others.
func TestPartialRecipients(t *testing.T) {
	f := newFakeSMTP(t, fault{at: "rcpt", code: 550, rcpt: "gone@example.org"})
	o := smtpOptions(f)
	o.ExtraRecipients = []string{"gone@example.org", "here@example.org"}
	n, _ := New(o)
	err := n.Report(context.Background(), finished(statustest.NewBuild("b").Failed().Build()))
	if err == nil || status.IsRetryable(err) || !strings.Contains(err.Error(), "gone@example.org (550") {
		t.Errorf("err = %v, want a permanent error naming the refused recipient", err)
	}
	d := f.Deliveries()
	if len(d) != 1 || strings.Join(d[0].To, ",") != "here@example.org" {
		t.Errorf("deliveries %+v", d)
	}
}

// TestRequiredSTARTTLS: UseTLS against a server without STARTTLS fails,
// permanently, before any mail command.
func TestRequiredSTARTTLS(t *testing.T) {
	f := newFakeSMTP(t)
	o := smtpOptions(f)
	o.UseTLS = true
	n, _ := New(o)
	err := n.Report(context.Background(), finished(statustest.NewBuild("b").Failed().Build()))
	if !errors.Is(err, ErrNoSTARTTLS) || status.IsRetryable(err) {
		t.Errorf("err = %v, want ErrNoSTARTTLS, permanent", err)
	}
	if len(f.Deliveries()) != 0 {
		t.Error("mail delivered without TLS")
	}
}

// TestCancelMidSession: cancelling ctx while the server stalls returns at
// once with an error wrapping context.Canceled that is not retryable.
func TestCancelMidSession(t *testing.T) {
	f := newFakeSMTP(t)
	o := smtpOptions(f)
	arrived := make(chan struct{})
	// A lookup that blocks stands for a stalled step before sending; the
	// SMTP path is covered by the timeout case below.
	o.Lookup = LookupFunc(func(ctx context.Context, user string) (string, error) {
		close(arrived)
		<-ctx.Done()
		return "", ctx.Err()
	})
	n, _ := New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- n.Report(ctx, finished(statustest.NewBuild("b").Blame("alice").Failed().Build()))
	}()
	receive(t, arrived, "lookup called")
	cancel()
	err := receive(t, done, "Report returns after cancel")
	if !errors.Is(err, context.Canceled) || status.IsRetryable(err) {
		t.Errorf("err = %v, want context.Canceled, not retryable", err)
	}
}

// TestTimeoutOnSilentServer: a server that accepts and never greets makes
// Send give up after Options.Timeout, retryably.
func TestTimeoutOnSilentServer(t *testing.T) {
	l := listenSilent(t)
	o := Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"}, RelayHost: "127.0.0.1", Port: l, Timeout: 200 * time.Millisecond}
	n, _ := New(o)
	start := time.Now()
	err := n.Report(context.Background(), finished(statustest.NewBuild("b").Failed().Build()))
	if !status.IsRetryable(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a retryable timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
	// And a cancel during the silent greeting returns Canceled.
	ctx, cancel := context.WithCancel(context.Background())
	o.Timeout = time.Minute
	n, _ = New(o)
	done := make(chan error, 1)
	go func() { done <- n.Report(ctx, finished(statustest.NewBuild("b").Failed().Build())) }()
	cancel()
	if err := receive(t, done, "Report returns after cancel"); !errors.Is(err, context.Canceled) || status.IsRetryable(err) {
		t.Errorf("cancel: err = %v", err)
	}
}

// TestThreading: the second mail about a builder and branch replies to the
// first; another branch starts its own thread.
func TestThreading(t *testing.T) {
	f := newFakeSMTP(t)
	n, _ := New(smtpOptions(f))
	ctx := context.Background()
	for _, b := range []*status.Build{
		statustest.NewBuild("linux").Number(1).Failed().Build(),
		statustest.NewBuild("linux").Number(2).Failed().Build(),
		statustest.NewBuild("linux").Number(3).Branch("dev").Failed().Build(),
	} {
		if err := n.Report(ctx, finished(b)); err != nil {
			t.Fatal(err)
		}
	}
	var hs []mail.Header
	for _, d := range f.wait(t, 3) {
		m, err := mail.ReadMessage(bytes.NewReader(d.Data))
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, m.Header)
	}
	root := hs[0].Get("In-Reply-To")
	if hs[1].Get("In-Reply-To") != hs[0].Get("Message-Id") || hs[1].Get("References") != root+" "+hs[0].Get("Message-Id") {
		t.Errorf("second mail: In-Reply-To %q References %q; first Message-Id %q", hs[1].Get("In-Reply-To"), hs[1].Get("References"), hs[0].Get("Message-Id"))
	}
	if hs[2].Get("In-Reply-To") == root || hs[2].Get("In-Reply-To") == hs[1].Get("Message-Id") {
		t.Errorf("another branch joined the thread: %q", hs[2].Get("In-Reply-To"))
	}
	if hs[0].Get("Message-Id") == hs[1].Get("Message-Id") {
		t.Error("two builds share a Message-Id")
	}
}
