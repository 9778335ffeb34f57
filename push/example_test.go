package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/heraldci/herald/outbox"
	"github.com/heraldci/herald/push"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A StatusPush with a Sink func: batches of packets, oldest first. A Hub
// calls ReportBatch; here it is called directly.
func ExampleNew() {
	p, err := push.New(push.Options{
		Project: "example",
		Kinds:   status.KindsOf(status.BuildStarted, status.BuildFinished),
		Sink: func(ctx context.Context, batch []push.Packet) error {
			for _, pk := range batch {
				var pl struct {
					Build struct {
						Builder string `json:"builderName"`
						Number  int    `json:"number"`
						Results *int   `json:"results"`
					} `json:"build"`
				}
				_ = json.Unmarshal(pk.Payload, &pl)
				fmt.Println(pk.ID, pk.Event, pl.Build.Builder, pl.Build.Number, *pl.Build.Results)
			}
			return nil // status.Retryable(err, 0) to get the batch again later
		},
	})
	if err != nil {
		panic(err)
	}
	events := statustest.NewBuild("linux").Number(7).Step("test", status.Success).Succeeded().Events()
	for i := range events {
		events[i].ID = fmt.Sprintf("hub-%d", i+1) // as a Hub numbers them
	}
	_ = p.ReportBatch(context.Background(), events)
	fmt.Printf("%+v\n", p.Stats())
	// Output:
	// hub-1 buildStarted linux 7 0
	// hub-7 buildFinished linux 7 0
	// {Sent:2 Batches:1 Split:0 Rejected:0}
}

// HttpStatusPush with a durable queue: the Hub keeps what is queued for the
// receiver in an outbox file, so it survives receiver outages, crashes and
// restarts of the master.
func ExampleNew_url() {
	dir, _ := os.MkdirTemp("", "push-example") // e.g. /var/lib/ci
	defer os.RemoveAll(dir)
	ob, err := outbox.Open(filepath.Join(dir, "push.outbox"), outbox.Options{})
	if err != nil {
		panic(err)
	}
	p, err := push.New(push.Options{
		URL:           "http://127.0.0.1:9/submit",
		Kinds:         status.KindsOf(status.AllKinds()...) &^ status.KindsOf(status.LogAppended),
		Authorization: status.Secret("Bearer example-token"),
		Timeout:       10 * time.Second,
	})
	if err != nil {
		panic(err)
	}
	hub := status.NewHub(status.HubOptions{})
	hub.Add(p, status.WithOutbox(ob), status.WithMatch(status.Builders("linux", "mac")))
	fmt.Println(p)
	_ = hub.Shutdown(context.Background())
	_ = ob.Close()
	// Output: push.Pusher(push 127.0.0.1:9)
}
