package mail

import (
	"bytes"
	"context"
	"log/slog"
	"syscall"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

const benchMails = 1000

// BenchmarkSend1000 renders and sends 1,000 mails about failed builds to
// the in-process SMTP server through a Notifier, then sends the same
// messages (same recipients, subject, text and HTML bodies, attachments) with a bare
// go-mail loop, in the same run. It reports both rates and their ratio:
// Herald's overhead (mode decision, recipients, default formatter, logs)
// over go-mail's own encode and send. Both open one SMTP session per mail.
func BenchmarkSend1000(b *testing.B) {
	f := newFakeSMTP(b)
	host, port := f.hostPort()
	h := statustest.NewHistory()
	builds := make([]*status.Build, benchMails)
	for i := range builds {
		builds[i] = failingBuild(h, i+1)
	}
	n, err := New(Options{From: "Herald CI <ci@example.org>", Domain: "example.org", ExtraRecipients: []string{"builds@example.org"},
		RelayHost: host, Port: port, History: h, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	// The bare loop sends the very messages Herald composed.
	msgs := make([]*Message, benchMails)
	for i, bd := range builds {
		it, _ := n.decide(context.Background(), bd)
		msgs[i], _, err = n.compose(context.Background(), []item{it}, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	client, err := gomail.NewClient(host, gomail.WithPort(port), gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithoutNoop())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var heraldTime, goMailTime, heraldCPU, goMailCPU time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	// Alternate mail by mail, so that load from other processes on the
	// machine falls on both sides alike.
	for range b.N {
		for i, bd := range builds {
			start, cpu := time.Now(), cpuTime()
			if err := n.Report(ctx, finished(bd)); err != nil {
				b.Fatal(err)
			}
			heraldTime += time.Since(start)
			heraldCPU += cpuTime() - cpu

			start, cpu = time.Now(), cpuTime()
			m := msgs[i]
			gm := gomail.NewMsg()
			gm.FromMailAddress(m.From)
			gm.ToMailAddress(m.To...)
			gm.CcMailAddress(m.Cc...)
			gm.Subject(m.Subject)
			gm.SetBodyString(gomail.TypeTextPlain, m.Text)
			gm.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
			for _, a := range m.Attachments {
				if err := gm.AttachReader(a.Name, bytes.NewReader(a.Data)); err != nil {
					b.Fatal(err)
				}
			}
			if err := client.DialAndSendWithContext(ctx, gm); err != nil {
				b.Fatal(err)
			}
			goMailTime += time.Since(start)
			goMailCPU += cpuTime() - cpu
		}
	}
	total := float64(b.N * benchMails)
	b.ReportMetric(total/heraldTime.Seconds(), "herald-mails/s")
	b.ReportMetric(total/goMailTime.Seconds(), "gomail-mails/s")
	b.ReportMetric(heraldTime.Seconds()/goMailTime.Seconds(), "herald/gomail")
	// CPU time of the process (client and server), less disturbed than
	// wall time by other load on a shared machine.
	b.ReportMetric(heraldCPU.Seconds()/goMailCPU.Seconds(), "herald/gomail-cpu")
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRender measures composing and encoding one default mail (with
// a log tail read from History), without the network.
func BenchmarkRender(b *testing.B) {
	h := statustest.NewHistory()
	bd := failingBuild(h, 7)
	n, err := New(Options{From: "ci@example.org", Domain: "example.org", History: h, Sender: &recorder{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := range b.N {
		bd.Number = i
		it, _ := n.decide(ctx, bd)
		m, _, err := n.compose(ctx, []item{it}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}
