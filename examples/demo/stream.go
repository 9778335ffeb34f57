package main

import (
	"context"
	"flag"
	"time"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/stream"
)

// streamTarget serves the live event stream (PBListener) at /stream: open
// on the demo's loopback address unless -stream-user is set. Watch it with
// examples/watch or curl -N.
type streamTarget struct {
	on             bool
	user, password string
}

func (t *streamTarget) Flags(fs *flag.FlagSet) {
	fs.BoolVar(&t.on, "stream", true, "serve the live event stream (PBListener) at /stream (needs -addr)")
	fs.StringVar(&t.user, "stream-user", "", "require this user (Basic auth) on /stream")
	fs.StringVar(&t.password, "stream-password", "", "the password of -stream-user")
}

func (t *streamTarget) Start(ctx context.Context, d *demo) error {
	if !t.on || d.url == "" {
		return nil
	}
	o := stream.Options{History: d.store, Logger: d.log, Anonymous: t.user == ""}
	if t.user != "" {
		o.Auth = auth.Users(map[string]status.Secret{t.user: status.Secret(t.password)})
	}
	s, err := stream.New(o)
	if err != nil {
		return err
	}
	// Streams never go idle, so end them once the master says it stops
	// (after the clients got that event): http.Server.Shutdown waits for
	// idle connections.
	closer := status.Filter(status.ReporterFunc(func(context.Context, status.Event) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.Close(ctx)
	}), status.Kinds(status.MasterStopping))
	d.hub.Add(status.Multi(s, closer), status.WithName("stream"))
	d.handle("/stream", s)
	d.where("stream: %s/stream (go run ./examples/watch -url %s/stream, or curl -N)", d.url, d.url)
	return nil
}
