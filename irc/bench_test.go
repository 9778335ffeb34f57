package irc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// fiftyBuilders is a history of 50 builders, each with a finished build,
// every fifth one running another.
func fiftyBuilders() *statustest.History {
	hist := statustest.NewHistory()
	for i := range 50 {
		name := fmt.Sprintf("builder-%02d", i)
		hist.AddBuild(statustest.NewBuild(name).Number(1).Succeeded().Build())
		if i%5 == 0 {
			hist.AddBuild(statustest.NewBuild(name).Number(2).Started(statustest.Epoch.Add(time.Hour)).Step("compile", status.Success).Build())
		}
	}
	return hist
}

// BenchmarkCommand measures parse + authorize + dispatch + format + queue
// of one command, without the network.
func BenchmarkCommand(b *testing.B) {
	bot := offlineBot(b, Options{History: fiftyBuilders(), Control: &statustest.Control{}, AllowForce: true,
		Authz: func(c chat.Command) bool { return c.Sender == "alice" }})
	for _, c := range []struct{ name, cmd string }{
		{"version", "version"},
		{"notify", "notify on started successToFailure"},
		{"force", `force build --branch=main --props=a=1,b=2 builder-07 "a reason"`},
		{"status_one", "status builder-07"},
		{"status_all_50", "status all"},
	} {
		cmd := c.cmd
		b.Run(c.name, func(b *testing.B) {
			r := chat.Request{Command: chat.Command{Sender: "alice", Room: "#ops"}, To: "#ops"}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				bot.execute(ctx, r, cmd)
				clearQueue(bot)
			}
		})
	}
}

// BenchmarkParseMessage measures the server line parser.
func BenchmarkParseMessage(b *testing.B) {
	line := "@time=2026-01-02T15:04:05.000Z :alice!~alice@client.example.org PRIVMSG #builds :herald: status all"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseMessage(line); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReport measures announcing one finished build to 3 contacts.
func BenchmarkReport(b *testing.B) {
	bot := offlineBot(b, Options{Channels: []Channel{{Name: "#a"}, {Name: "#b"}}, PMToNicks: []string{"carol"},
		NotifyEvents: []string{"finished"}, CoalesceWindow: -1, QueueSize: 1 << 20})
	e := status.Event{Kind: status.BuildFinished, Build: statustest.NewBuild("linux").Number(7).URL("https://ci.example.org/7").
		Change(statustest.NewChange(1, "Alice <alice@example.org>")).Failed().Build()}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := bot.Report(ctx, e); err != nil {
			b.Fatal(err)
		}
		clearQueue(bot)
	}
}

// BenchmarkStatusAllRoundTrip measures, over ngircd, the time from a
// client saying "herald: status all" (50 builders) to receiving the first
// and the last line of the answer, and reports p50 and p99 of each (run
// with -benchtime=30x for 30 samples). The bot's flood control is opened
// wide so the figures are the bot's and the server's: ngircd's own input
// throttle (about 1 KB/s per client) then paces the answer, which is why
// status all packs 50 builders into a few lines.
func BenchmarkStatusAllRoundTrip(b *testing.B) {
	d := startIRCd(b)
	alice := dialClient(b, d, "alice")
	alice.join("#rt")
	botOn(b, d, Options{Nick: "herald", Channels: []Channel{{Name: "#rt"}}, History: fiftyBuilders(),
		Burst: 1000, Interval: time.Millisecond})
	alice.joinedBy("herald", "#rt")
	var first, last []time.Duration
	lines := 0
	for b.Loop() {
		start := time.Now()
		alice.send("PRIVMSG #rt :herald: status all")
		for lines = 1; ; lines++ {
			m := alice.next("herald")
			if lines == 1 {
				first = append(first, time.Since(start))
			}
			if strings.Contains(m.Param(1), "builder-49:") {
				break
			}
		}
		last = append(last, time.Since(start))
	}
	pct := func(ds []time.Duration, p float64) float64 {
		slices.Sort(ds)
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(first, 0.50), "first-p50-ms")
	b.ReportMetric(pct(first, 0.99), "first-p99-ms")
	b.ReportMetric(pct(last, 0.50), "last-p50-ms")
	b.ReportMetric(pct(last, 0.99), "last-p99-ms")
	b.ReportMetric(float64(lines), "lines/answer")
}

// clearQueue drops what a benchmark queued, without the cost of reading it.
func clearQueue(b *Bot) {
	b.out.mu.Lock()
	b.out.answers, b.out.announce = b.out.answers[:0], b.out.announce[:0]
	b.out.mu.Unlock()
}
