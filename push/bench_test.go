package push

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkHTTPPush measures events/s through ReportBatch in batches of
// ChunkSize (200) to a local receiver that decodes every request: the cost
// of the packets and the requests, without the Hub's queue.
func BenchmarkHTTPPush(b *testing.B) {
	for _, f := range []Format{Form, JSON} {
		b.Run(f.String(), func(b *testing.B) {
			srv := serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raw := []byte(nil)
				if f == Form {
					_ = r.ParseForm()
					raw = []byte(r.PostForm.Get("packets"))
				} else {
					var m json.RawMessage
					_ = json.NewDecoder(r.Body).Decode(&m)
					raw = m
				}
				var ps []struct{ ID string }
				if err := json.Unmarshal(raw, &ps); err != nil || len(ps) == 0 {
					http.Error(w, "bad packets", http.StatusBadRequest)
				}
			}), "")
			p, err := New(Options{URL: srv.URL, Format: f})
			require.NoError(b, err)
			batch := buildEvents(1, p.MaxBatch())
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += len(batch) {
				require.NoError(b, p.ReportBatch(context.Background(), batch))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
