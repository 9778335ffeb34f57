package push

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestRetryAfter: a 429 with Retry-After is retried no sooner than asked,
// though RetryDelay is much shorter.
func TestRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	rc := newReceiver(t, Form, 0, 0)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		first := len(at) == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		rc.ServeHTTP(w, r)
	}), "")
	p, err := HTTP(srv.URL, HTTPOptions{Options: fastOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Report(context.Background(), buildEvent(1)); err != nil {
		t.Fatal(err)
	}
	rc.wait("the retried packet", 10*time.Second, func(rc *receiver) bool { return len(rc.got) == 1 })
	if err := p.Close(context.Background()); err != nil { // the answer is counted once Close returns
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := at[1].Sub(at[0]); gap < time.Second {
		t.Errorf("retried after %v, want at least the 1s of Retry-After", gap)
	}
	if st := p.Stats(); st.Retried != 1 || st.Sent != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestTLS: HTTPOptions.TLS trusts a private CA.
func TestTLS(t *testing.T) {
	rc := newReceiver(t, Form, 0, 0)
	srv := httptest.NewTLSServer(rc)
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	o := fastOptions()
	p, err := HTTP(srv.URL, HTTPOptions{Options: o, TLS: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Report(context.Background(), buildEvent(1)); err != nil {
		t.Fatal(err)
	}
	rc.wait("the packet over TLS", 10*time.Second, func(rc *receiver) bool { return len(rc.got) == 1 })
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestCloseHonoursContext: a receiver that never answers cannot hold Close
// past its context; the batch in flight is saved to Dir and sent by the
// next Pusher.
func TestCloseHonoursContext(t *testing.T) {
	hang := make(chan struct{})
	entered := make(chan struct{}, 1)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}), "")
	defer close(hang)
	dir := t.TempDir()
	o := fastOptions()
	o.Dir = dir
	p, err := HTTP(srv.URL, HTTPOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if err := p.Report(context.Background(), buildEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	<-entered // the batch is in flight
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("Close = %v after %v, want DeadlineExceeded within the context", err, time.Since(start))
	}

	var got []Packet
	p2, err := New(Options{Dir: dir, BufferDelay: time.Millisecond, Sink: func(_ context.Context, ps []Packet) error {
		got = append(got, ps...)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkInOrder(t, got, 1, 10)
}
