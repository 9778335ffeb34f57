package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/heraldci/herald/push"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A StatusPush with a Sink func: batches of packets, oldest first.
func ExampleNew() {
	p, err := push.New(push.Options{
		Project:   "example",
		WhiteList: []string{"buildStarted", "buildFinished"},
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
	for _, e := range statustest.NewBuild("linux").Number(7).Step("test", status.Success).Succeeded().Events() {
		_ = p.Report(context.Background(), e)
	}
	_ = p.Close(context.Background()) // sends what is queued
	fmt.Printf("%+v\n", p.Stats())
	// Output:
	// 1 buildStarted linux 7 0
	// 2 buildFinished linux 7 0
	// {QueuedMemory:0 QueuedDisk:0 Sent:2 Batches:1 Retried:0 Dropped:0 Rejected:0 LastError:}
}

// HttpStatusPush with a durable queue: packets survive receiver outages
// and restarts of the master.
func ExampleHTTP() {
	p, err := push.HTTP("http://127.0.0.1:9/submit", push.HTTPOptions{
		Options: push.Options{
			Dir:       "", // e.g. "/var/lib/ci/push": the queue survives restarts
			BlackList: []string{"logChunk"},
		},
		Authorization: status.Secret("Bearer example-token"),
		Timeout:       10 * time.Second,
	})
	if err != nil {
		panic(err)
	}
	hub := status.NewHub(status.HubOptions{})
	hub.Add(p)
	fmt.Println(p)
	_ = hub.Shutdown(context.Background())
	// Output: push.Pusher(push 127.0.0.1:9)
}
