package stream

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
)

// BenchmarkFanOut reports events to 100 subscribed Go clients over
// loopback and measures events/s (until every client has every event) and
// the p99 delay from Report to a client's receipt.
func BenchmarkFanOut(b *testing.B) {
	const clients = 100
	s, err := New(Options{Anonymous: true, ClientBuffer: 4096, Replay: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Close(context.Background())
	tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()

	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	var cs []*Client
	for i := range clients {
		c, err := Dial(context.Background(), hs.URL, Credentials{}, Filter{}, WithHTTPClient(&http.Client{Transport: tr}), WithBuffer(1024))
		if err != nil {
			b.Fatal(err)
		}
		cs = append(cs, c)
		<-c.Messages() // snapshot
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range c.Messages() {
				if m.Event == nil {
					continue
				}
				lat[i] = append(lat[i], time.Since(m.Event.Time))
				if m.Event.Seq == uint64(b.N) {
					return
				}
			}
		}()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 1; i <= b.N; i++ {
		e := status.Event{Kind: status.BuilderChanged, Time: time.Now(), Seq: uint64(i),
			Builder: &status.Builder{Name: "linux", State: status.Building, Pending: i}}
		if err := s.Report(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(s.Stats().Cut), "cuts")
	for _, c := range cs {
		c.Close()
	}
}

// BenchmarkFanOutLatency reports one event at a time to 100 clients and
// waits until all of them have it: the p99 of the delay to the last client
// of each event, without a backlog.
func BenchmarkFanOutLatency(b *testing.B) {
	const clients = 100
	s, err := New(Options{Anonymous: true})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Close(context.Background())
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	got := make(chan struct{}, clients)
	var cs []*Client
	for range clients {
		c, err := Dial(context.Background(), hs.URL, Credentials{}, Filter{}, WithHTTPClient(&http.Client{Transport: tr}))
		if err != nil {
			b.Fatal(err)
		}
		cs = append(cs, c)
		<-c.Messages()
		go func() {
			for m := range c.Messages() {
				if m.Event != nil {
					got <- struct{}{}
				}
			}
		}()
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		start := time.Now()
		e := status.Event{Kind: status.BuilderChanged, Time: start, Seq: uint64(i),
			Builder: &status.Builder{Name: "linux", State: status.Building, Pending: i}}
		if err := s.Report(context.Background(), e); err != nil {
			b.Fatal(err)
		}
		for range clients {
			<-got
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	for _, c := range cs {
		c.Close()
	}
}

// BenchmarkFanOutServer is BenchmarkFanOut with clients that only count
// frames, not decode them: the server's own fan-out capacity.
func BenchmarkFanOutServer(b *testing.B) {
	const clients = 100
	s, err := New(Options{Anonymous: true, ClientBuffer: 1 << 18, Replay: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Close(context.Background())
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	for range clients {
		resp, err := (&http.Client{Transport: tr}).Get(hs.URL)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReaderSize(resp.Body, 64<<10)
			n := 0
			for n < b.N {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if bytes.HasPrefix(line, []byte("event: builderChanged")) {
					n++
				}
			}
		}()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 1; i <= b.N; i++ {
		e := status.Event{Kind: status.BuilderChanged, Time: time.Now(), Seq: uint64(i),
			Builder: &status.Builder{Name: "linux", State: status.Building, Pending: i}}
		if err := s.Report(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(s.Stats().Cut), "cuts")
}
