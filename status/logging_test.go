package status_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// chatty logs one line per Report, naming itself, through its own logger
// when it was given one, else through the one it inherits.
type chatty struct {
	who string
	own bool
	log atomic.Pointer[slog.Logger]
}

func newChatty(who string, own *slog.Logger) *chatty {
	c := &chatty{who: who, own: own != nil}
	c.log.Store(own)
	return c
}

func (c *chatty) InheritLogger(l *slog.Logger) {
	if !c.own {
		c.log.Store(l)
	}
}

func (c *chatty) Report(_ context.Context, e status.Event) error {
	l := c.log.Load()
	if l == nil {
		l = slog.Default()
	}
	l.Info("reported", "who", c.who, "seq", e.Seq)
	return nil
}

// chattyOutbox logs once per Append through the logger it inherits.
type chattyOutbox struct {
	memOutbox
	log atomic.Pointer[slog.Logger]
}

func (o *chattyOutbox) InheritLogger(l *slog.Logger) { o.log.Store(l) }

func (o *chattyOutbox) Append(evs []status.Event) error {
	o.log.Load().Info("appended", "who", "outbox")
	return o.memOutbox.Append(evs)
}

// chattyLedger logs once per Apply through the logger it inherits.
type chattyLedger struct {
	statustest.History
	log atomic.Pointer[slog.Logger]
}

func (l *chattyLedger) InheritLogger(lg *slog.Logger) { l.log.Store(lg) }

func (l *chattyLedger) Apply(e *status.Event) error {
	l.log.Load().Info("applied", "who", "history")
	return nil
}

// jsonLogger logs as JSON lines into a buffer the test reads with lines.
func jsonLogger() (*slog.Logger, *testkit.Buffer) {
	var buf testkit.Buffer
	return slog.New(slog.NewJSONHandler(&buf, nil)), &buf
}

// lines returns who logged, with the reporter attribute each line carried
// ("" for none): "a reporter=a".
func lines(t *testing.T, buf *testkit.Buffer) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(buf.String()))
	for sc.Scan() {
		var rec struct{ Who, Reporter string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "line %s", sc.Text())
		if rec.Who != "" {
			out = append(out, rec.Who+" reporter="+rec.Reporter)
		}
	}
	return out
}

func TestHubGivesItsLoggerToReportersWithoutOne(t *testing.T) {
	hubLog, hubLines := jsonLogger()
	ownLog, ownLines := jsonLogger()
	h := status.NewHub(status.HubOptions{Logger: hubLog})
	require.NoError(t, h.Add(newChatty("inheriting", nil), status.WithName("first")))
	require.NoError(t, h.Add(newChatty("own", ownLog), status.WithName("second")))
	h.Publish(status.Event{Kind: status.MasterStarted})
	shutdown(t, h)

	assert.Equal(t, []string{"inheriting reporter=first"}, lines(t, hubLines),
		"the reporter without a logger logs through the Hub's, named; the other does not")
	assert.Equal(t, []string{"own reporter="}, lines(t, ownLines), "a reporter's own logger is kept")
}

func TestHubLoggerReachesWhatWrappersWrap(t *testing.T) {
	hubLog, hubLines := jsonLogger()
	history := &chattyLedger{}
	h := status.NewHub(status.HubOptions{Logger: hubLog, History: history})
	require.NoError(t, h.Add(status.Filter(newChatty("filtered", nil), status.Kinds(status.MasterStarted)),
		status.WithName("f")))
	require.NoError(t, h.Add(status.Multi(newChatty("member", nil), status.Filter(newChatty("filtered member", nil),
		status.Kinds(status.MasterStarted))), status.WithName("m")))
	require.NoError(t, h.Add(newChatty("boxed", nil), status.WithName("o"),
		status.WithOutbox(&chattyOutbox{memOutbox: memOutbox{appended: make(chan struct{}, 1)}})))
	h.Publish(status.Event{Kind: status.MasterStarted})
	shutdown(t, h)

	assert.ElementsMatch(t, []string{
		"history reporter=", // the Hub's logger as it is: the History is no reporter
		"filtered reporter=f",
		"member reporter=m",
		"filtered member reporter=m",
		"outbox reporter=o",
		"boxed reporter=o",
	}, lines(t, hubLines))
}
