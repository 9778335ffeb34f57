// Command watch is a terminal status client, the statusgui of Herald: it
// connects to a stream.Server, prints the builders' current state, then one
// line per build started or finished and per builder state change, live.
// It reconnects on its own and resumes where it left off.
//
//	go run ./examples/watch -url http://127.0.0.1:8010/stream
//	go run ./examples/watch -url https://ci.example.org/stream -user alice -builder linux
//
// The password comes from -password or, better, $HERALD_STREAM_PASSWORD.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/stream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "watch:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8010/stream", "the stream's URL")
	user := fs.String("user", "", "user name (Basic auth)")
	password := fs.String("password", os.Getenv("HERALD_STREAM_PASSWORD"), "password (default $HERALD_STREAM_PASSWORD)")
	builders := fs.String("builder", "", "only these builders (comma-separated)")
	tags := fs.String("tag", "", "only builders with one of these tags (comma-separated)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f := stream.Filter{Builders: split(*builders), Tags: split(*tags),
		Kinds: []status.Kind{status.BuilderAdded, status.BuilderChanged, status.BuilderRemoved, status.BuildStarted, status.BuildFinished}}
	c, err := stream.Dial(ctx, *url, stream.Credentials{User: *user, Password: status.Secret(*password)}, f)
	if err != nil {
		return err
	}
	defer c.Close()
	for m := range c.Messages() {
		switch {
		case m.Snapshot != nil:
			printSnapshot(stdout, m.Snapshot)
		case m.Event != nil:
			printEvent(stdout, m.Event)
		}
	}
	return c.Err()
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func printSnapshot(w io.Writer, sn *stream.Snapshot) {
	last := map[string]*status.Build{}
	for _, b := range sn.Builds {
		last[b.Builder] = b
	}
	fmt.Fprintf(w, "%-12s %-9s %s\n", "BUILDER", "STATE", "LAST BUILD")
	for _, b := range sn.Builders {
		fmt.Fprintf(w, "%-12s %-9s %s\n", b.Name, b.State, describe(last[b.Name]))
	}
}

func printEvent(w io.Writer, e *status.Event) {
	at := e.Time.Local().Format("15:04:05")
	switch {
	case e.Build != nil:
		fmt.Fprintf(w, "%s %-12s %s\n", at, e.Build.Builder, describe(e.Build))
	case e.Builder != nil && e.Kind == status.BuilderRemoved:
		fmt.Fprintf(w, "%s %-12s removed\n", at, e.Builder.Name)
	case e.Builder != nil:
		fmt.Fprintf(w, "%s %-12s %s\n", at, e.Builder.Name, e.Builder.State)
	}
}

func describe(b *status.Build) string {
	switch {
	case b == nil:
		return "-"
	case !b.Done():
		return fmt.Sprintf("#%d building", b.Number)
	}
	return fmt.Sprintf("#%d %s in %s", b.Number, b.Result, b.Finished.Sub(b.Started).Round(time.Second))
}
