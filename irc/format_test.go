package irc

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	testkit.Golden(t, *update, name, []byte(got))
}

// announcements is a build history that exercises every part of the
// announcement formats.
func announcements() []status.Event {
	alice := statustest.NewChange(11, "Alice <alice@example.org>")
	bob := statustest.NewChange(12, "Bob <bob@example.org>")
	bob.Revision = "r1234" // a Subversion-style revision stays whole
	var evs []status.Event
	rev := 0
	add := func(bb *statustest.FakeBuild) {
		rev++
		all := bb.Revision(fmt.Sprintf("%07x%033d", 0xa87b2c0+rev, rev)).Events()
		evs = append(evs, all[0]) // BuildStarted
		if last := all[len(all)-1]; last.Kind == status.BuildFinished {
			evs = append(evs, last)
		}
	}
	add(statustest.NewBuild("linux").Number(1).Change(alice).Change(bob).URL("https://ci.example.org/linux/1").Succeeded())
	add(statustest.NewBuild("linux").Number(2).Change(alice).Step("compile", status.Success).Step("test", status.Failure).
		URL("https://ci.example.org/linux/2").Failed())
	add(statustest.NewBuild("linux").Number(3).Blame("Carol <carol@example.org>", "Carol <carol@example.org>").Result(status.Warnings))
	add(statustest.NewBuild("linux").Number(4).Text("exception", "interrupted").Result(status.Exception))
	add(statustest.NewBuild("linux").Number(5).Result(status.Retry))
	add(statustest.NewBuild("linux").Number(6).Result(status.Cancelled))
	add(statustest.NewBuild("linux").Number(7).Result(status.Skipped))
	add(statustest.NewBuild("multi").Number(1).Source(status.SourceStamp{Codebase: "lib", Revision: "fedcba9876543210fedcba9876543210fedcba98"}).Succeeded())
	add(statustest.NewBuild("dirty").Number(1).Text("bad\r\nQUIT :injected\x00", "\x01ACTION text\x01").Failed())
	add(statustest.NewBuild("long").Number(1).Text(strings.Repeat("very-long-step-text ", 40)).Failed())
	return evs
}

func TestAnnouncementGolden(t *testing.T) {
	for _, mode := range []struct {
		file string
		o    Options
	}{
		{"announce-colors.golden", Options{}},
		{"announce-plain.golden", Options{NoColors: true}},
		{"announce-revisions.golden", Options{UseRevisions: true}},
	} {
		t.Run(mode.file, func(t *testing.T) {
			o := mode.o
			o.Channels = []Channel{{Name: "#builds"}}
			o.NotifyEvents = []string{"started", "finished"}
			// Someone watches linux #2: the watch announcement is part of the formats.
			o.History = statustest.NewHistory(statustest.NewBuild("linux").Number(2).Running().Build())
			b := offlineBot(t, o)
			require.Len(t, run(b, "someone", "#builds", "watch linux"), 1)
			var out strings.Builder
			for _, e := range announcements() {
				if err := b.Report(context.Background(), e); err != nil {
					t.Fatal(err)
				}
				for _, l := range drain(b) {
					if n := len(":herald!~herald@" + strings.Repeat("h", 63) + " " + l + "\r\n"); n > maxLine {
						t.Errorf("line of %d bytes relayed: %q", n, l)
					}
					out.WriteString(l + "\n")
				}
			}
			golden(t, mode.file, out.String())
		})
	}
}

func TestStatusFormats(t *testing.T) {
	now := statustest.Epoch.Add(2*time.Hour + 5*time.Minute + 3*time.Second)
	hist := statustest.NewHistory(
		statustest.NewBuild("linux").Number(6).Succeeded().Build(),
		statustest.NewBuild("linux").Number(7).Started(statustest.Epoch.Add(time.Hour)).Build(),
		statustest.NewBuild("windows").Number(3).Step("test", status.Failure).Failed().Build(),
	)
	hist.AddBuilder(status.Builder{Name: "mac", State: status.Offline})
	hist.AddBuilder(status.Builder{Name: "empty"})
	b := offlineBot(t, Options{History: hist, Now: func() time.Time { return now }})
	var out strings.Builder
	for _, cmd := range []string{"list builders", "status", "status linux", "status windows", "status nosuch", "last all", "last windows", "watch windows", "watch linux", "help", "help commands", "help notify", "notify list", "notify on", "notify on failureToSuccess", "notify off started", "notify off", "bogus", "status a b"} {
		for _, l := range run(b, "alice", "#ops", cmd) {
			out.WriteString(cmd + " -> " + l + "\n")
		}
	}
	golden(t, "commands.golden", out.String())
}

func finishedEvent(builder string, n int, r status.Result) status.Event {
	b := statustest.NewBuild(builder).Number(n).Started(statustest.Epoch.Add(time.Duration(n) * time.Minute)).Result(r).Build()
	return status.Event{Kind: status.BuildFinished, Time: b.Finished, Build: b}
}

func TestTransitions(t *testing.T) {
	results := []status.Result{status.Success, status.Failure, status.Failure, status.Warnings, status.Success, status.Exception}
	want := []string{ // with successToFailure, warningsToSuccess and exception set
		"PRIVMSG #ops :build #2 of linux is complete: Failure [build failure]",
		"PRIVMSG #ops :build #5 of linux is complete: Success [build success]",
		"PRIVMSG #ops :build #6 of linux is complete: Exception [build exception]",
	}
	events := []string{"successToFailure", "warningsToSuccess", "exception"}
	t.Run("seen by the bot", func(t *testing.T) {
		b := offlineBot(t, Options{NoColors: true, Channels: []Channel{{Name: "#ops"}}, NotifyEvents: events})
		var got []string
		for i, r := range results {
			if err := b.Report(context.Background(), finishedEvent("linux", i+1, r)); err != nil {
				t.Fatal(err)
			}
			got = append(got, drain(b)...)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("announced:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("from History", func(t *testing.T) {
		hist := statustest.NewHistory()
		for i, r := range results {
			hist.AddBuild(finishedEvent("linux", i+1, r).Build)
		}
		b := offlineBot(t, Options{NoColors: true, Channels: []Channel{{Name: "#ops"}}, NotifyEvents: events, History: hist})
		var got []string
		for i := len(results) - 1; i >= 0; i-- { // out of order: only History knows the previous build
			if err := b.Report(context.Background(), finishedEvent("linux", i+1, results[i])); err != nil {
				t.Fatal(err)
			}
			got = append(got, drain(b)...)
		}
		slices.Sort(got)
		w := slices.Clone(want)
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("announced:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
		}
	})
}

func TestCoalesceAndQueueFull(t *testing.T) {
	now := statustest.Epoch
	b := offlineBot(t, Options{Channels: []Channel{{Name: "#ops"}}, NotifyEvents: []string{"finished"}, QueueSize: 2,
		CoalesceWindow: time.Minute, Now: func() time.Time { return now }})
	ctx := context.Background()
	e := finishedEvent("linux", 1, status.Success)
	for range 3 {
		if err := b.Report(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.out.pending(); n != 1 {
		t.Errorf("%d lines queued for one build reported 3 times, want 1", n)
	}
	now = now.Add(time.Minute)
	if err := b.Report(ctx, e); err != nil || b.out.pending() != 2 {
		t.Errorf("after the window: err %v, %d lines queued, want 2", err, b.out.pending())
	}
	err := b.Report(ctx, finishedEvent("linux", 2, status.Success))
	if !errors.Is(err, ErrQueueFull) || !status.IsRetryable(err) {
		t.Errorf("Report with a full queue = %v, want a Retryable ErrQueueFull", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Report(cctx, e); !errors.Is(err, context.Canceled) || status.IsRetryable(err) {
		t.Errorf("Report with a cancelled context = %v", err)
	}
}

func TestFilters(t *testing.T) {
	b := offlineBot(t, Options{Channels: []Channel{{Name: "#ops"}}, NotifyEvents: []string{"started"}, Tags: []string{"release"}})
	ctx := context.Background()
	_ = b.Report(ctx, status.Event{Kind: status.BuildStarted, Build: statustest.NewBuild("nightly").Tags("nightly").Build()})
	_ = b.Report(ctx, status.Event{Kind: status.BuildStarted, Build: statustest.NewBuild("rel").Tags("release").Build()})
	if got := drain(b); len(got) != 1 || !strings.Contains(got[0], "of rel started") {
		t.Errorf("announced %q, want only the release builder", got)
	}
}

func TestAnswersOvertakeAnnouncements(t *testing.T) {
	b := offlineBot(t, Options{NoColors: true, Channels: []Channel{{Name: "#ops"}}, NotifyEvents: []string{"finished"}})
	for i := range 3 {
		if err := b.Report(context.Background(), finishedEvent("linux", i+1, status.Success)); err != nil {
			t.Fatal(err)
		}
	}
	b.execute(context.Background(), chat.Request{Command: chat.Command{Sender: "alice", Room: "#ops"}, To: "#ops"}, "version")
	got := drain(b)
	if len(got) != 4 || !strings.Contains(got[0], "at your service") || !strings.Contains(got[1], "build #1") {
		t.Errorf("sent in this order: %q; want the answer before the backlog", got)
	}
}
