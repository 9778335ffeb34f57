package push

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHTTPPush measures events/s from the first Report until a local
// receiver that decodes every batch has them all, with default batching
// (200 per request; the queue holds every event, so none is dropped).
func BenchmarkHTTPPush(b *testing.B) {
	for _, f := range []Format{Form, JSON} {
		b.Run(f.String(), func(b *testing.B) {
			var got atomic.Int64
			done := make(chan struct{})
			var want int64
			srv := serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var raw []byte
				if f == Form {
					_ = r.ParseForm()
					raw = []byte(r.PostForm.Get("packets"))
				} else {
					dec := json.NewDecoder(r.Body)
					var ps []struct{ ID uint64 }
					_ = dec.Decode(&ps)
					if got.Add(int64(len(ps))) == want {
						close(done)
					}
					return
				}
				var ps []struct{ ID uint64 }
				_ = json.Unmarshal(raw, &ps)
				if got.Add(int64(len(ps))) == want {
					close(done)
				}
			}), "")
			p, err := HTTP(srv.URL, HTTPOptions{Options: Options{BufferDelay: time.Millisecond, MaxMemoryItems: b.N + 1}, Format: f})
			if err != nil {
				b.Fatal(err)
			}
			want = int64(b.N)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 1; i <= b.N; i++ {
				if err := p.Report(context.Background(), buildEvent(i)); err != nil {
					b.Fatal(err)
				}
			}
			select {
			case <-done:
			case <-time.After(time.Minute):
				b.Fatalf("%d of %d packets arrived", got.Load(), b.N)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			b.StopTimer()
			_ = p.Close(context.Background())
		})
	}
}
