package stream_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/stream"
)

// A Server fed by a Hub, and a Go client following one builder.
func Example() {
	srv, err := stream.New(stream.Options{
		Auth: auth.Users(map[string]status.Secret{"alice": "s3cret"}),
	})
	if err != nil {
		panic(err)
	}
	hub := status.NewHub(status.HubOptions{})
	hub.Add(srv) // or mux.Handle("/stream", srv) in the host's web server
	hs := httptest.NewServer(srv)
	defer hs.Close()

	c, err := stream.Dial(context.Background(), hs.URL, stream.Credentials{User: "alice", Password: "s3cret"},
		stream.Filter{Builders: []string{"linux"}, Kinds: []status.Kind{status.BuildFinished}})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	first := <-c.Messages() // the state as of connecting
	fmt.Println("snapshot:", first.Snapshot != nil)

	hub.Publish(status.Event{Kind: status.BuildStarted, Build: &status.Build{Builder: "linux", Number: 1}})
	hub.Publish(status.Event{Kind: status.BuildFinished, Build: &status.Build{Builder: "linux", Number: 1, Result: status.Failure}})
	m := <-c.Messages()
	fmt.Println(m.Event.Kind, m.Event.Build.Builder, m.Event.Build.Number, m.Event.Build.Result)
	_ = hub.Shutdown(context.Background())
	// Output:
	// snapshot: true
	// buildFinished linux 1 failure
}
