package readme

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/bus"
	"github.com/heraldci/herald/outbox"
	"github.com/heraldci/herald/push"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

// composing is the README's "Composing reporters".
func composing(ctx context.Context, logger *slog.Logger, mailer, bot status.Reporter,
	page func(context.Context, *status.Build) error) error {
	history, err := store.OpenMemory("/var/lib/ci/history.db", store.MemoryOptions{Master: "ci1"})
	if err != nil {
		return err
	}
	hub := status.NewHub(status.HubOptions{History: history, Logger: logger, Master: "ci1",
		WebURL: "https://ci.example.org"}) // where package web's pages are
	defer hub.Shutdown(ctx) // drains every queue, then closes the reporters
	// logger is also the history's and every target's (status.Logging), their lines
	// marked reporter=<name>, unless a target's Options.Logger names another. Every
	// build gets its page's URL (status.Links): mails, chat and forges link to it.

	// Every target is a status.Reporter with its own queue, retries and counters,
	// and says which kinds of event it wants (status.Selective).
	hub.Add(status.Filter(mailer, status.Tags("release")))           // Buildbot's tags=
	hub.Add(status.Filter(bot, status.Builders("linux", "windows"))) // builders=
	hub.Add(status.ReporterFunc(func(ctx context.Context, e status.Event) error {
		if e.Kind == status.BuildFinished && e.Build.Result == status.Failure {
			return page(ctx, e.Build) // return status.Retryable(err, after) to be retried
		}
		return nil
	}), status.WithName("pager"))

	// Builds this master left running when it stopped (a crash, kill -9) end now,
	// and every reporter above hears it: one BuildFinished each, Result Exception.
	if _, err := history.FinishInterrupted(ctx, hub); err != nil {
		return err
	}

	// Your master publishes as builds progress; Publish never blocks on a reporter.
	run := status.StartBuild(hub, &status.Build{Builder: "linux", Number: 7})
	step := run.StartStep("test")
	stdio := step.OpenLog("stdio")
	fmt.Fprintln(stdio, "ok  github.com/you/yours 0.3s") // each write is one LogAppended event
	stdio.Close()
	step.Finish(status.Success)
	run.Finish(status.Success)
	return nil
}

// pushing is the README's push section.
func pushing(hub *status.Hub) error {
	ob, err := outbox.Open("/var/lib/ci/push.outbox", outbox.Options{}) // one file per reporter
	if err != nil {
		return err // names the file and what to do when it is locked or damaged
	}
	p, err := push.New(push.Options{URL: "http://front-end:9000/submit"})
	if err != nil {
		return err
	}
	hub.Add(p, status.WithOutbox(ob))
	return nil
}

// scaling is the README's "Scaling out".
func scaling(ctx context.Context, url string, hub, front *status.Hub, frontHistory *store.Memory) error {
	// On each master: publish the Hub's events to the stream.
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectBufSize(-1))
	if err != nil {
		return err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if _, err := bus.EnsureStream(ctx, js, bus.StreamOptions{}); err != nil { // HERALD, herald.<kind>.<builder>
		return err
	}
	pub, err := bus.NewPublisher(bus.PublisherOptions{JetStream: js})
	if err != nil {
		return err
	}
	hub.Add(pub)

	// On a front end: a durable consumer feeding the front end's own Hub, whose
	// History (a store file) is flushed before each acknowledgement.
	sub, err := bus.Subscribe(ctx, js, bus.SubscribeOptions{Durable: "web-1", Flush: frontHistory.Sync}, front)
	if err != nil {
		return err
	}
	defer sub.Close(ctx)
	return nil
}

func newNotifier(t *testing.T) status.Reporter { return &statustest.Recorder{} }

// TestMyNotifier is the README's "Testing your own reporter", run.
func TestMyNotifier(t *testing.T) {
	statustest.Conformance(t, func() status.Reporter { return newNotifier(t) })

	rec := &statustest.Recorder{}
	hub := status.NewHub(status.HubOptions{History: statustest.NewHistory()})
	require.NoError(t, hub.Add(rec))
	for _, e := range statustest.NewBuild("linux").Number(7).Step("test", status.Failure).Failed().Events() {
		hub.Publish(e)
	}
	require.NoError(t, hub.Shutdown(context.Background()))
	assert.Equal(t, status.BuildFinished, rec.Events()[rec.Len()-1].Kind)
}

var _ = []any{composing, pushing, scaling}

// TestREADMESnippetsCompile finds every Go snippet of README.md in this file.
func TestREADMESnippetsCompile(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	here, err := os.ReadFile("snippets_test.go")
	require.NoError(t, err)
	norm := func(s string) string {
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			if l = strings.Join(strings.Fields(l), " "); l != "" {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n")
	}
	code := norm(string(here))
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	require.NotEmpty(t, blocks)
	for _, b := range blocks {
		assert.Contains(t, code, norm(b[1]), "a README snippet is not in examples/readme/snippets_test.go: put it there so it compiles")
	}
}
