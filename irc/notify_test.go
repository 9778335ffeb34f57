package irc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// next returns the next thing nick says (PRIVMSG or NOTICE) anywhere c can
// see, so a test can tell that nothing else was said before it.
func (c *client) next(nick string) message {
	c.t.Helper()
	return c.expect(10*time.Second, "a line from "+nick, func(m message) bool {
		return (m.Command == "PRIVMSG" || m.Command == "NOTICE") && m.Nick() == nick
	}).m
}

func TestNotificationsOverIRC(t *testing.T) {
	d := startIRCd(t)
	alice := dialClient(t, d, "alice")
	alice.join("#notify")
	bob := dialClient(t, d, "bob")
	bot, _ := botOn(t, d, Options{Nick: "herald", NoColors: true, Channels: []Channel{{Name: "#notify"}},
		PMToNicks: []string{"bob"}, NotifyEvents: []string{"exception"}})
	alice.joinedBy("herald", "#notify")
	ctx := context.Background()
	report := func(kind status.Kind, n int, r status.Result) {
		t.Helper()
		bb := statustest.NewBuild("linux").Number(n).Started(statustest.Epoch.Add(time.Duration(n) * time.Hour))
		if kind == status.BuildFinished {
			bb = bb.Result(r)
		}
		if err := bot.Report(ctx, status.Event{Kind: kind, Build: bb.Build()}); err != nil {
			t.Fatal(err)
		}
	}
	// expect checks what alice sees next from the bot: the announcement
	// wanted, or (want "") nothing before the answer to a version command.
	expect := func(target, want string) {
		t.Helper()
		if want == "" {
			alice.send("PRIVMSG #notify :herald: version")
			want, target = "at your service", "#notify"
		}
		m := alice.next("herald")
		if !strings.EqualFold(m.Param(0), target) || !strings.Contains(m.Param(1), want) {
			t.Fatalf("herald said %q to %s, want %q to %s", m.Param(1), m.Param(0), want, target)
		}
	}
	command := func(to, text, want string) {
		t.Helper()
		alice.send("PRIVMSG %s :%s", to, text)
		target := to
		if to == "herald" {
			target = "alice"
		}
		expect(target, want)
	}

	// The defaults: exception on the channel and to bob.
	report(status.BuildFinished, 1, status.Exception)
	expect("#notify", "build #1 of linux is complete: Exception [build exception]")
	bob.said("herald", "bob", "build #1 of linux is complete: Exception")
	report(status.BuildStarted, 2, 0)
	report(status.BuildFinished, 2, status.Success)
	expect("", "") // nothing: neither started nor success is on

	command("#notify", "herald: notify on started", "The following events are being notified: exception, started")
	report(status.BuildStarted, 3, 0)
	expect("#notify", "build #3 of linux started")
	command("#notify", "herald: notify off started exception", "No events are being notified")
	command("#notify", "herald: notify on successToFailure failureToSuccess warnings", "notified: failureToSuccess, successToFailure, warnings")
	report(status.BuildFinished, 3, status.Failure) // after #2's success
	expect("#notify", "build #3 of linux is complete: Failure")
	report(status.BuildFinished, 4, status.Failure) // failureToFailure: not asked
	expect("", "")
	report(status.BuildFinished, 5, status.Success)
	expect("#notify", "build #5 of linux is complete: Success")
	report(status.BuildFinished, 6, status.Warnings)
	expect("#notify", "build #6 of linux is complete: Warnings")
	report(status.BuildFinished, 7, status.Exception) // exception is off now on the channel
	expect("", "")
	bob.said("herald", "bob", "build #7 of linux is complete: Exception") // still on for bob

	// Asked in private, notify is alice's own, answered in private.
	command("herald", "notify on finished", "The following events are being notified: finished")
	report(status.BuildFinished, 8, status.Success)
	expect("alice", "build #8 of linux is complete: Success")
	command("#notify", "herald: notify list", "notified: failureToSuccess, successToFailure, warnings")
	command("herald", "notify off", "No events are being notified")
	report(status.BuildFinished, 9, status.Success)
	expect("", "")
}

func TestChannelKeyOverIRC(t *testing.T) {
	d := startIRCd(t)
	op := dialClient(t, d, "op")
	op.join("#locked")
	op.send("MODE #locked +k s3cret-key")
	op.expect(10*time.Second, "the key set", func(m message) bool { return m.Command == "MODE" && m.Param(1) == "+k" })

	// A wrong key: ngircd answers 475, the bot logs it without the key.
	_, badLog := botOn(t, d, Options{Nick: "wrongkey", Channels: []Channel{{Name: "#locked", Key: "not-the-key"}}})
	// The right key: the bot gets in.
	botOn(t, d, Options{Nick: "rightkey", Channels: []Channel{{Name: "#locked", Key: "s3cret-key"}}})
	op.joinedBy("rightkey", "#locked")
	waitFor(t, func() bool { return strings.Contains(badLog.String(), "cannot join") }, "the bot with the wrong key to log a failed join")
	if s := badLog.String(); !strings.Contains(s, "reply=475") || strings.Contains(s, "not-the-key") {
		t.Errorf("log of the refused join:\n%s", s)
	}
}

// waitFor polls a condition the test cannot be told about (a log line).
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling, not synchronising
	}
}

func TestLongAndDirtyLinesOverIRC(t *testing.T) {
	d := startIRCd(t)
	alice := dialClient(t, d, "alice")
	alice.join("#long")
	bot, log := botOn(t, d, Options{Nick: "herald", NoColors: true, Channels: []Channel{{Name: "#long"}}, NotifyEvents: []string{"failure"}})
	alice.joinedBy("herald", "#long")
	text := "ok\r\nQUIT :injected\x00 " + strings.Repeat("wörd ", 300) + "END"
	b := statustest.NewBuild("linux").Number(1).Text(text).Failed().Build()
	if err := bot.Report(context.Background(), status.Event{Kind: status.BuildFinished, Build: b}); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for lines := 0; !strings.HasSuffix(got.String(), "END] "); lines++ {
		m := alice.next("herald")
		relayed := ":herald!~herald@127.0.0.1 PRIVMSG " + m.Param(0) + " :" + m.Param(1) + "\r\n"
		if len(relayed) > maxLine {
			t.Errorf("a relayed line has %d bytes", len(relayed))
		}
		if lines > 10 {
			t.Fatalf("no end after %d lines: %q", lines, got.String())
		}
		got.WriteString(m.Param(1) + " ")
	}
	if s := got.String(); !strings.Contains(s, "[ok  QUIT :injected  wörd wörd") || strings.Count(s, "wörd") != 300 {
		t.Errorf("the text arrived damaged: %q", s)
	}
	alice.send("PRIVMSG #long :herald: version")
	alice.said("herald", "#long", "at your service") // still connected: no QUIT was injected
	if strings.Contains(log.String(), "connection lost") {
		t.Errorf("the bot was disconnected:\n%s", log.String())
	}
}
