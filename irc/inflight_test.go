package irc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// ackServer is a fake IRC server that puts the bot on the channels it
// joins, and answers the PINGs that acknowledge lines only when told to
// (one value on pong per connection); a value on hangUp ends the current
// connection without a word.
type ackServer struct {
	*fakeServer
	pong   chan bool
	hangUp chan struct{}
}

func newAckServer(t *testing.T) *ackServer {
	s := &ackServer{pong: make(chan bool, 4), hangUp: make(chan struct{}, 4)}
	s.fakeServer = startFakeServer(t, func(c net.Conn) func(string) bool {
		pong := <-s.pong
		go func() {
			<-s.hangUp
			c.Close()
		}()
		return func(line string) bool {
			switch {
			case strings.HasPrefix(line, "USER "):
				fmt.Fprintf(c, ":srv 001 herald :Welcome herald!~herald@127.0.0.1\r\n")
			case strings.HasPrefix(line, "JOIN "):
				// The PONG to the PING after it tells the test the bot took the JOIN.
				fmt.Fprintf(c, ":herald!~herald@127.0.0.1 JOIN %s\r\nPING :joined\r\n", strings.TrimPrefix(line, "JOIN "))
			case strings.HasPrefix(line, "PING :"+markPrefix) && pong:
				fmt.Fprintf(c, ":srv PONG srv :%s\r\nPING :acked\r\n", strings.TrimPrefix(line, "PING :"))
			}
			return true
		}
	})
	return s
}

// An announcement written to a connection that dies before the server
// acknowledged it is said again on the next connection; once acknowledged,
// it is not.
func TestAnnouncementOnADyingConnectionIsSentAgain(t *testing.T) {
	s := newAckServer(t)
	s.pong <- false
	b, err := New(Options{Host: "127.0.0.1", Port: s.port(), Nick: "herald",
		Channels: []Channel{{Name: "#re"}}, NotifyEvents: []string{"failure"},
		LostDelay: 10 * time.Millisecond, FailedDelay: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer closeBot(t, b)
	say := "PRIVMSG #re :build #9 of linux is complete: Failure"

	first := s.next(t)
	readUntil(t, first, "PONG joined")
	build := statustest.NewBuild("linux").Number(9).Failed().Build()
	require.NoError(t, b.Report(context.Background(), status.Event{Kind: status.BuildFinished, Build: build}))
	readUntil(t, first, say)
	readUntil(t, first, "PING :"+markPrefix) // asked, never answered
	s.pong <- true
	s.hangUp <- struct{}{}
	for range first {
	}

	second := s.next(t)
	got := readUntil(t, second, say)
	assert.NotContains(t, got[:len(got)-1], say, "said once on the new connection")
	readUntil(t, second, "PONG acked") // the acknowledging PING was answered, and the answer taken
	s.pong <- true
	s.hangUp <- struct{}{}
	for range second {
	}

	third := s.next(t)
	got = readUntil(t, third, "PONG joined")
	require.NoError(t, b.Report(context.Background(), status.Event{Kind: status.BuildFinished,
		Build: statustest.NewBuild("linux").Number(10).Failed().Build()}))
	got = append(got, readUntil(t, third, "PRIVMSG #re :build #10")...)
	assert.NotContains(t, got, say, "an acknowledged announcement is not said again")
}

// While a backlog goes out, a mark follows every markEvery lines, so what
// is in flight stays bounded; a pause marks the rest; an acknowledgement
// forgets what it covers, and a lost connection puts back the rest first,
// in order, ahead of what was still queued.
func TestMarksBoundWhatIsInFlight(t *testing.T) {
	o := newOutbox(1000, 0)
	for i := range 40 {
		_, err := o.pushAnnouncement([]string{fmt.Sprintf("line %d", i)}, "", time.Time{})
		require.NoError(t, err)
	}
	var marks []string
	for range 35 {
		_, ok := o.nextPaced(true)
		require.True(t, ok)
		if ping, ok := o.mark(!o.hasPaced(true)); ok {
			marks = append(marks, ping)
		}
	}
	assert.Equal(t, []string{"PING :" + markPrefix + "16", "PING :" + markPrefix + "32"}, marks)
	o.ack(markPrefix + "32")
	o.requeue() // lines 32-34 were in flight
	var next []string
	for range 5 {
		line, ok := o.nextPaced(true)
		require.True(t, ok)
		next = append(next, line)
	}
	assert.Equal(t, []string{"line 32", "line 33", "line 34", "line 35", "line 36"}, next)
}
