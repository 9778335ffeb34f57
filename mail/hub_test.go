package mail

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

// modeBuilds is a history where problem and change modes both have work:
// two builders, results that flip and repeat, each build with a log.
func modeBuilds() [][]status.Event {
	seq := []status.Result{status.Success, status.Failure, status.Failure, status.Success, status.Warnings,
		status.Failure, status.Success, status.Exception, status.Failure, status.Success}
	var builds [][]status.Event
	for i, r := range seq {
		for _, builder := range []string{"linux", "windows"} {
			res := r
			if builder == "windows" {
				res = seq[len(seq)-1-i]
			}
			builds = append(builds, statustest.NewBuild(builder).Number(i+1).Step("test", res).Result(res).Events())
		}
	}
	return builds
}

// Issue 15's acceptance: a problem/change mail configuration driven through
// a Hub sends exactly the mails it sends when each event is applied to the
// history and reported in turn, 100 times of 100, while another builder's
// chatty log floods the Hub (the mailer declares its kinds, and the history
// is applied before the mailer is queued).
func TestProblemAndChangeModesThroughAHub(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	newMailer := func(h status.History, rec *recorder) *Notifier {
		n, err := New(Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"},
			Mode: Problem | Change, History: h, Sender: rec, Logger: quiet})
		require.NoError(t, err)
		return n
	}
	subjects := func(rec *recorder) []string {
		var s []string
		for _, env := range rec.all() {
			s = append(s, env.Message.Subject)
		}
		return s
	}

	// The reference: each event applied, then reported, one at a time.
	ref := &recorder{}
	mem := store.NewMemory(store.MemoryOptions{})
	n := newMailer(mem, ref)
	for _, b := range modeBuilds() {
		for _, e := range b {
			require.NoError(t, mem.Apply(&e))
			require.NoError(t, n.Report(context.Background(), e))
		}
	}
	want := subjects(ref)
	require.GreaterOrEqual(t, len(want), 8, "the history should make mails in both modes: %q", want)

	for trial := range 100 {
		mem := store.NewMemory(store.MemoryOptions{})
		hub := status.NewHub(status.HubOptions{History: mem, Logger: quiet, QueueSize: 16})
		rec := &recorder{}
		require.NoError(t, hub.Add(newMailer(mem, rec)))
		chatty := status.StartBuild(hub, &status.Build{Builder: "chatty", Number: trial + 1})
		stdio := chatty.StartStep("spam").OpenLog("stdio")
		for _, b := range modeBuilds() {
			for _, e := range b {
				hub.Publish(e)
			}
			for l := range 200 {
				fmt.Fprintf(stdio, "line %d\n", l)
			}
		}
		chatty.Finish(status.Success)
		require.NoError(t, hub.Shutdown(context.Background()))
		require.Equal(t, want, subjects(rec), "trial %d", trial)
	}
}

// A Hub with WebURL gives the build its page; the mail links it and its
// failing log's page, all as status.Links builds them, with no URL option
// on the mailer.
func TestMailLinksTheWebStatusOfTheHub(t *testing.T) {
	h := statustest.NewHistory()
	rec := &recorder{}
	n, err := New(Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"}, Mode: Failing,
		History: h, LogLines: 3, Sender: rec})
	require.NoError(t, err)
	hub := status.NewHub(status.HubOptions{WebURL: "https://example.org/ci", Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, hub.Add(n))
	b := statustest.NewBuild("team/linux").Number(7).Step("unit tests", status.Failure).Failed().Build()
	h.SetLog(b.Steps[0].Logs[0], "FAIL\n")
	hub.Publish(status.Event{Kind: status.BuildFinished, Build: b})
	require.NoError(t, hub.Shutdown(context.Background()))

	links := status.Links{Base: "https://example.org/ci"}
	require.Len(t, rec.all(), 1)
	text := rec.all()[0].Message.Text
	assert.Contains(t, text, "Full details are available at:\n  "+links.Build("team/linux", 7)+"\n")
	assert.Contains(t, text, "("+links.Log(b.Steps[0].Logs[0])+")")
}

func TestLogURLOnlyUnderTheWebStatus(t *testing.T) {
	b := statustest.NewBuild("team/linux").Number(7).Build()
	for buildURL, want := range map[string]string{
		"https://example.org/ci/builders/team%2Flinux/builds/7":  "https://example.org/ci/builders/team%2Flinux/builds/7/steps/unit%20tests/logs/stdio",
		"https://example.org/ci/builders/team%2Flinux/builds/7/": "https://example.org/ci/builders/team%2Flinux/builds/7/steps/unit%20tests/logs/stdio",
		"/builders/team%2Flinux/builds/7":                        "/builders/team%2Flinux/builds/7/steps/unit%20tests/logs/stdio",
		"https://jenkins.example.org/job/linux/7":                "", // not a page of the web status: no guess
		"https://example.org/ci/builders/team%2Flinux/builds/70": "",
		"": "",
	} {
		in := &FormatInput{Build: b, BuildURL: buildURL}
		assert.Equal(t, want, in.LogURL("unit tests", "stdio"), buildURL)
	}
}
