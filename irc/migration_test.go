package irc

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// The IRC example of Buildbot 0.8.12's manual
// (spec/buildbot-0.8.12-status-targets.txt), transcribed to Go with its
// strings, run against ngircd, and checked against what the manual says:
//
//	irc = status.IRC("irc.example.org", "botnickname",
//	                 useColors=False,
//	                 channels=[{"channel": "#example1"},
//	                           {"channel": "#example2",
//	                            "password": "somesecretpassword"}],
//	                 password="mysecretnickservpassword",
//	                 notify_events={
//	                   'exception': 1,
//	                   'successToFailure': 1,
//	                   'failureToSuccess': 1
//	                 })
//
// with allowForce=True for force build and stop build (I10). Only the host
// differs: ngircd on loopback stands in for irc.example.org.
func TestMigrationIRCExample(t *testing.T) {
	d := startIRCd(t)
	op := dialClient(t, d, "op") // keeps #example2 locked with its key
	op.join("#example2")
	op.send("MODE #example2 +k somesecretpassword")
	op.expect(10*time.Second, "the key set", func(m message) bool { return m.Command == "MODE" && m.Param(1) == "+k" })
	nickserv := dialClient(t, d, "NickServ") // ngircd has no services: a client plays NickServ
	alice := dialClient(t, d, "alice")
	alice.join("#example1")

	hist := statustest.NewHistory()
	hist.AddBuilder(status.Builder{Name: "linux"})
	ctl := &statustest.Control{}
	b, _ := botOn(t, d, Options{
		Nick:     "botnickname",
		NoColors: true, // useColors=False
		Channels: []Channel{{Name: "#example1"}, {Name: "#example2", Key: "somesecretpassword"}},
		Password: "mysecretnickservpassword",
		NotifyEvents: []string{
			"exception",
			"successToFailure",
			"failureToSuccess",
		},
		AllowForce: true, Control: ctl, History: hist,
	})

	// "The password argument, if provided, will be sent to Nickserv to
	// claim the nickname"
	l := nickserv.expect(10*time.Second, "IDENTIFY", func(m message) bool { return m.Command == "PRIVMSG" && m.Nick() == "botnickname" })
	assert.Equal(t, "IDENTIFY mysecretnickservpassword", l.m.Param(1))
	alice.joinedBy("botnickname", "#example1")
	op.joinedBy("botnickname", "#example2") // with the channel's password

	// notify_events: announced on every channel, without colours, only for
	// exceptions and the two transitions.
	ctx := context.Background()
	finish := func(n int, r status.Result, text ...string) {
		build := statustest.NewBuild("linux").Number(n).Started(statustest.Epoch.Add(time.Duration(n) * time.Hour)).
			URL("https://ci.example.org/builders/linux/builds/" + itoa(n)).Result(r).Text(text...).Build()
		hist.AddBuild(build)
		require.NoError(t, b.Report(ctx, status.Event{Kind: status.BuildFinished, Build: build}))
	}
	next := func(c *client, channel string) string {
		l := c.expect(10*time.Second, "the bot saying something on "+channel, func(m message) bool {
			return m.Command == "PRIVMSG" && m.Nick() == "botnickname" && strings.EqualFold(m.Param(0), channel)
		})
		return l.m.Param(1)
	}
	finish(1, status.Success, "build", "successful") // first build: no transition
	finish(2, status.Failure, "failed", "test")      // successToFailure
	finish(3, status.Failure, "failed", "test")      // failureToFailure: not asked for
	finish(4, status.Success, "build", "successful") // failureToSuccess
	finish(5, status.Warnings, "warnings", "test")   // successToWarnings: not asked for
	finish(6, status.Exception, "exception")         // exception
	for _, c := range []struct {
		who     *client
		channel string
	}{{alice, "#example1"}, {op, "#example2"}} {
		for _, want := range []string{
			"build #2 of linux is complete: Failure [failed test]  Build details are at https://ci.example.org/builders/linux/builds/2",
			"build #4 of linux is complete: Success [build successful]  Build details are at https://ci.example.org/builders/linux/builds/4",
			"build #6 of linux is complete: Exception [exception]  Build details are at https://ci.example.org/builders/linux/builds/6",
		} {
			got := next(c.who, c.channel)
			assert.Equal(t, want, got, c.channel)
			assert.NotContains(t, got, "\x03", "useColors=False")
		}
	}

	// allowForce: "force build [--branch=BRANCH] [--revision=REVISION]
	// [--props=PROP1=VAL1,PROP2=VAL2...] BUILDER REASON": "The user
	// requesting the build and REASON are recorded in the Build status. The
	// buildbot will announce the build's status when it finishes."
	alice.send("PRIVMSG #example1 :botnickname: force build --branch=main --revision=abc1234 --props=PROP1=VAL1,PROP2=VAL2 linux needs a rebuild")
	assert.Equal(t, "alice: build of linux queued; I'll give a shout when it starts", next(alice, "#example1"))
	require.Equal(t, []statustest.Call{{Method: "ForceBuild",
		Args: "{Builder:linux Who:IRC user <alice> on channel #example1 Reason:needs a rebuild Branch:main Revision:abc1234 Repository: Project: Properties:map[PROP1:VAL1 PROP2:VAL2]}"}},
		ctl.Calls())
	// The host runs it: build set bs1, the first ForceBuild of the fake.
	forced := statustest.NewBuild("linux").Number(7).BuildSet("bs1").Started(statustest.Epoch.Add(7 * time.Hour)).
		URL("https://ci.example.org/builders/linux/builds/7").Reason("needs a rebuild").Running().Build()
	hist.AddBuild(forced)
	require.NoError(t, b.Report(ctx, status.Event{Kind: status.BuildStarted, Build: forced}))
	assert.Equal(t, "alice: build #7 of linux forced; I'll give a shout when it finishes", next(alice, "#example1"))

	// "stop build BUILDER REASON: Terminate any running build in the
	// given Builder. REASON will be added to the build status"
	alice.send("PRIVMSG #example1 :botnickname: stop build linux committed a bug")
	assert.Equal(t, "build #7 of linux interrupted", next(alice, "#example1"))
	assert.Equal(t, statustest.Call{Method: "StopBuild", Args: "linux 7 IRC user <alice> on channel #example1 committed a bug"}, ctl.Calls()[1])

	done := forced.Clone()
	done.Finished, done.Result, done.Text = forced.Started.Add(time.Minute), status.Cancelled, []string{"stopped"}
	hist.AddBuild(done)
	require.NoError(t, b.Report(ctx, status.Event{Kind: status.BuildFinished, Build: done}))
	assert.Equal(t, "alice: Hey! build linux #7 is complete: Cancelled [stopped]", next(alice, "#example1"))
	assert.Equal(t, "alice: Build details are at https://ci.example.org/builders/linux/builds/7", next(alice, "#example1"))
}

func itoa(n int) string { return strconv.Itoa(n) }
