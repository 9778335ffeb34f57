package irc

import (
	"context"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// The tests in this file talk to a real ngircd, through a second client.

func seededHistory() *statustest.History {
	hist := statustest.NewHistory(
		statustest.NewBuild("linux").Number(6).Succeeded().Build(),
		statustest.NewBuild("linux").Number(7).Started(statustest.Epoch.Add(time.Hour)).Step("compile", status.Success).Build(),
		statustest.NewBuild("windows").Number(3).Step("test", status.Failure).Failed().Build(),
	)
	hist.AddBuilder(status.Builder{Name: "mac", State: status.Offline})
	return hist
}

func TestCommandsOverIRC(t *testing.T) {
	d := startIRCd(t)
	alice := dialClient(t, d, "alice")
	alice.join("#cmds")
	alice.join("#side")
	ctl := &statustest.Control{}
	hist := seededHistory()
	// linux #7 is running its second step.
	running := statustest.NewBuild("linux").Number(7).Started(statustest.Epoch.Add(time.Hour)).Step("compile", status.Success).Build()
	running.Steps = append(running.Steps, status.Step{Name: "test", Number: 1, Text: []string{"testing"}, Started: running.Started})
	hist.AddBuild(running)
	bot, _ := botOn(t, d, Options{Nick: "herald", Channels: []Channel{{Name: "#cmds"}}, History: hist, Control: ctl,
		AllowForce: true, AllowShutdown: true, Version: "1.2.3", NotifyEvents: []string{"failure"},
		Now: func() time.Time { return statustest.Epoch.Add(3 * time.Hour) }})
	alice.joinedBy("herald", "#cmds")

	steps := []struct {
		say, want string
	}{
		{"herald: list builders", "Configured builders: linux mac[offline] windows"},
		{"herald: status linux", "linux: building (testing)"},
		{"herald, status windows", "windows: idle, last build 2h59m00s ago: failed test"},
		{"HERALD: status all", "linux: building (testing) | mac: offline | windows: idle"},
		{"herald: last windows", "last build [windows]: 2h59m00s ago: failed test"},
		{"herald: last \"linux\"", "last build [linux]: 2h59m00s ago: build success"},
		{"herald: status nosuch", "no such builder 'nosuch': try 'list builders'"},
		{"herald: frobnicate", "unknown command 'frobnicate': try 'help commands'"},
		{"herald: help", "Get help on what?"},
		{"herald: help force", "Usage: force build [--branch=BRANCH] [--revision=REVISION] [--props=NAME=VALUE,...] BUILDER REASON"},
		{"herald: help shutdown now", "Usage: shutdown now - shut down at once"},
		{"herald: help commands", "Herald commands: commands, force, help, join, last, leave, list, notify, shutdown, source, status, stop, version, watch"},
		{"herald: commands", "Herald commands: commands, force, help"},
		{"herald: source", "My source can be found at https://github.com/heraldci/herald"},
		{"herald: version", "Herald 1.2.3 at your service"},
		{"herald: notify list", "The following events are being notified: failure"},
		{"herald: notify on successToFailure exception", "The following events are being notified: exception, failure, successToFailure"},
		{"herald: notify on sometimes", "unknown event 'sometimes'"},
		{`herald: force build --branch main --props=owner=alice linux "the reason"`, "build of linux queued; I'll give a shout when it starts"},
		{"herald: force build \"linux", "unterminated \" quote"},
		{"herald: stop build linux committed a bug", "build #7 of linux interrupted"},
		{"herald: shutdown check", "Status: the master is running"},
		{"herald: shutdown start", "Starting clean shutdown"},
		{"herald: shutdown check", "Status: the master is shutting down"},
		{"herald: shutdown stop", "Stopping clean shutdown"},
		{"herald: shutdown now", "Stopping the master now"},
		{"herald: watch linux", "watching build linux #7 until it finishes.."},
	}
	for _, s := range steps {
		alice.send("PRIVMSG #cmds :%s", s.say)
		alice.said("herald", "#cmds", s.want)
	}
	wantCalls := []statustest.Call{
		{Method: "ForceBuild", Args: "{Builder:linux Who:IRC user <alice> on channel #cmds Reason:the reason Branch:main Revision: Repository: Project: Properties:map[owner:alice]}"},
		{Method: "StopBuild", Args: "linux 7 IRC user <alice> on channel #cmds committed a bug"},
		{Method: "ShutdownMaster", Args: "true"},
		{Method: "CancelShutdown"},
		{Method: "ShutdownMaster", Args: "false"},
	}
	if got := ctl.Calls(); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("Control calls:\n%+v\nwant\n%+v", got, wantCalls)
	}

	// Private questions are answered in private, with the sender's name.
	alice.send("PRIVMSG herald :status windows")
	alice.said("herald", "alice", "windows: idle")
	alice.send("PRIVMSG herald :force build linux")
	alice.said("herald", "alice", "build of linux queued; I'll give a shout when it starts")
	if got := ctl.Calls(); len(got) != 6 || !strings.Contains(got[5].Args, "Who:IRC user <alice> (privmsg)") {
		t.Errorf("private force: calls %+v", got)
	}

	// join and leave: the bot follows, the answer goes where it was asked.
	alice.send("PRIVMSG #cmds :herald: join #side")
	alice.said("herald", "#cmds", "joining #side")
	alice.joinedBy("herald", "#side")
	alice.send("PRIVMSG #side :herald: leave #side")
	alice.said("herald", "#side", "leaving #side")
	alice.expect(10*time.Second, "herald leaving #side", func(m message) bool {
		return m.Command == "PART" && m.Nick() == "herald" && m.Param(0) == "#side"
	})

	// watch completes when the build finishes.
	done := running.Clone()
	done.Finished, done.Result, done.Text = running.Started.Add(time.Minute), status.Success, []string{"build", "successful"}
	if err := bot.Report(context.Background(), status.Event{Kind: status.BuildFinished, Build: done}); err != nil {
		t.Fatal(err)
	}
	alice.said("herald", "#cmds", "Hey! build linux #7 is complete: Success [\x0303build successful\x03]")
}

// TestNickTakenAndNoticesOverIRC: with its nick taken the bot registers as
// nick_, answers to that name, and with NoticeOnChannel speaks on channels
// by NOTICE while private answers stay PRIVMSG.
func TestNickTakenAndNoticesOverIRC(t *testing.T) {
	d := startIRCd(t)
	squatter := dialClient(t, d, "herald")
	squatter.join("#n")
	botOn(t, d, Options{Nick: "herald", NoticeOnChannel: true, Channels: []Channel{{Name: "#n"}}})
	squatter.joinedBy("herald_", "#n")
	squatter.send("PRIVMSG #n :herald_: frobnicate")
	if cmd, _ := squatter.saidCmd("herald_", "#n", "unknown command 'frobnicate'"); cmd != "NOTICE" {
		t.Errorf("error on the channel sent as %s, want NOTICE", cmd)
	}
	squatter.send("PRIVMSG #n :herald_: version")
	if cmd, _ := squatter.saidCmd("herald_", "#n", "at your service"); cmd != "NOTICE" {
		t.Errorf("answer on the channel sent as %s, want NOTICE", cmd)
	}
	squatter.send("PRIVMSG herald_ :version")
	if cmd, _ := squatter.saidCmd("herald_", "herald", "at your service"); cmd != "PRIVMSG" {
		t.Errorf("private answer sent as %s, want PRIVMSG", cmd)
	}
}

// Given no logger, the bot logs through the Hub's once added, named; its
// connection loop logs from its own goroutine.
func TestLogsThroughTheHub(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() { // a server that hangs up at once: every attempt fails
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	b, err := New(Options{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Nick: "herald",
		FailedDelay: 10 * time.Millisecond})
	require.NoError(t, err)
	_, logs := testkit.LoggingHub(t, b)
	logs.WaitFor(t, testkit.LogLine{Level: "WARN", Reporter: "irc", Msg: "irc: connection failed"})
}
