package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, *update, name, got)
}

// wireEvents is a build's life plus a change, a worker and the master, with
// the ids a Hub gives them.
func wireEvents() []status.Event {
	b := statustest.NewBuild("linux").Number(7).Tags("ci").Property("owner", "alice").
		Change(statustest.NewChange(3, "Alice <alice@example.org>")).Step("compile", status.Success).Failed()
	evs := []status.Event{{Kind: status.MasterStarted, Time: statustest.Epoch}}
	c := statustest.NewChange(3, "Alice <alice@example.org>")
	evs = append(evs, status.Event{Kind: status.ChangeAdded, Time: statustest.Epoch, Change: &c})
	evs = append(evs, status.Event{Kind: status.WorkerConnected, Time: statustest.Epoch,
		Worker: &status.Worker{Name: "worker1", Host: "host1", Connected: true}})
	evs = append(evs, status.Event{Kind: status.BuilderChanged, Time: statustest.Epoch,
		Builder: &status.Builder{Name: "linux", State: status.Building, Workers: []string{"worker1"}}})
	evs = append(evs, b.Events()...)
	for i := range evs {
		evs[i].Seq, evs[i].ID = uint64(i+1), eventID(i+1)
	}
	return evs
}

var pythonTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$`)

// TestWireFormat: a receiver reading the request as 0.8.12 receivers did
// (request.args["packets"][0], json.loads) gets Buildbot's packet layout,
// with the events' ids; the packets are compared to a golden file.
func TestWireFormat(t *testing.T) {
	rc := newReceiver(t, Form, 200, 1<<20)
	rc.wantExtra = map[string]string{"key": "s3cret&=x", "site": "ci"}
	srv := serve(t, rc, "")
	p, err := New(Options{URL: srv.URL + "/submit", Project: "Herald test", Now: func() time.Time { return statustest.Epoch },
		ExtraPostParams: url.Values{"key": {"s3cret&=x"}, "site": {"ci"}}})
	require.NoError(t, err)
	require.NoError(t, p.ReportBatch(context.Background(), wireEvents()))
	require.Len(t, rc.bodies, 1, "one request")
	form, err := url.ParseQuery(string(rc.bodies[0]))
	require.NoError(t, err)
	var raw []map[string]any // as json.loads sees it
	require.NoError(t, json.Unmarshal([]byte(form.Get("packets")), &raw))
	for i, pk := range raw {
		assert.Len(t, pk, 6, "packet %d = %v: want exactly id, timestamp, project, started, event, payload", i, pk)
		assert.Equal(t, eventID(i+1), pk["id"])
		assert.Equal(t, "Herald test", pk["project"])
		assert.Regexp(t, pythonTimestamp, pk["timestamp"])
		assert.Regexp(t, pythonTimestamp, pk["started"])
		assert.IsType(t, map[string]any{}, pk["payload"])
	}
	var pretty bytes.Buffer // the wire bytes, indented: field order as sent
	require.NoError(t, json.Indent(&pretty, []byte(form.Get("packets")), "", "  "))
	pretty.WriteByte('\n')
	golden(t, "packets.golden", pretty.Bytes())
}

// TestJSONFormat: Format JSON posts the array as application/json.
func TestJSONFormat(t *testing.T) {
	rc := newReceiver(t, JSON, 200, 1<<20)
	srv := serve(t, rc, "")
	p, err := New(Options{URL: srv.URL, Format: JSON})
	require.NoError(t, err)
	require.NoError(t, p.ReportBatch(context.Background(), buildEvents(1, 50)))
	require.NoError(t, p.Report(context.Background(), buildEvent(51)))
	checkInOrder(t, rc.packets(), 1, 51)
	assert.Equal(t, Stats{Sent: 51, Batches: 2}, p.Stats())
}

// TestKindsAndFilter: Options.Kinds selects the events, and the Hub learns
// it through Handles; empty values are filtered unless KeepEmpty.
func TestKindsAndFilter(t *testing.T) {
	run := func(o Options) []Packet {
		var got []Packet
		o.Sink = func(_ context.Context, ps []Packet) error { got = append(got, ps...); return nil }
		p, err := New(o)
		require.NoError(t, err)
		require.NoError(t, p.ReportBatch(context.Background(), wireEvents()))
		return got
	}
	names := func(ps []Packet) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Event)
		}
		return strings.Join(s, ",")
	}
	assert.Equal(t, "buildStarted,buildFinished", names(run(Options{Kinds: status.KindsOf(status.BuildStarted, status.BuildFinished)})))
	noSteps := status.KindsOf(status.AllKinds()...) &^
		status.KindsOf(status.LogAppended, status.LogStarted, status.LogFinished, status.StepStarted, status.StepFinished)
	assert.Equal(t, "start,changeAdded,slaveConnected,builderChangedState,buildStarted,buildFinished", names(run(Options{Kinds: noSteps})))

	p, err := New(Options{Kinds: noSteps, Sink: func(context.Context, []Packet) error { return nil }})
	require.NoError(t, err)
	assert.True(t, p.Handles(status.BuildFinished))
	assert.False(t, p.Handles(status.LogAppended))
	all, err := New(Options{Sink: func(context.Context, []Packet) error { return nil }})
	require.NoError(t, err)
	for _, k := range status.AllKinds() {
		assert.True(t, all.Handles(k), "by default every kind is pushed: %v", k)
	}

	filtered := run(Options{Kinds: status.KindsOf(status.BuildStarted)})[0].Payload
	kept := run(Options{Kinds: status.KindsOf(status.BuildStarted), KeepEmpty: true})[0].Payload
	assert.NotContains(t, string(filtered), `"finished"`)
	assert.NotContains(t, string(filtered), `"text":null`)
	assert.Contains(t, string(kept), `"finished":"0001-01-01T00:00:00Z"`, "KeepEmpty keeps empty values")
	assert.Contains(t, string(filtered), `"results":0`, "the filter keeps results=0 (success)")
}

// TestOptions: bad options are refused up front, all at once, with
// messages saying what to do.
func TestOptions(t *testing.T) {
	sink := func(context.Context, []Packet) error { return nil }
	for _, tc := range []struct {
		o    Options
		want []string
	}{
		{Options{}, []string{"Options.URL and Options.Sink are both unset: set URL"}},
		{Options{URL: "http://host/x", Sink: sink}, []string{"Options.URL and Options.Sink are both set"}},
		{Options{URL: "ftp://x/y"}, []string{"want an absolute http://"}},
		{Options{URL: "http://u:pw@host/x"}, []string{"put them in Options.Authorization"}},
		{Options{URL: "http://host/x", Format: 7, Timeout: -1}, []string{"use push.Form or push.JSON", "Options.Timeout is negative"}},
		{Options{Sink: sink, Format: JSON, Authorization: "Bearer x", Timeout: time.Second},
			[]string{"Options.Format, Options.Authorization, Options.Timeout only configure requests to Options.URL"}},
		{Options{ChunkSize: -1, MaxRequestBytes: -1, Kinds: 1 << 40}, []string{
			"both unset", "Options.ChunkSize is negative", "Options.MaxRequestBytes is negative", "Options.Kinds holds unknown kinds"}},
	} {
		_, err := New(tc.o)
		require.Error(t, err, "New(%+v)", tc.o)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w)
		}
		assert.Len(t, strings.Split(err.Error(), "\n"), len(tc.want), "one line per problem: %v", err)
	}
	_, err := New(Options{URL: "http://host/x"})
	assert.NoError(t, err, "a URL alone is enough")
	_, err = New(Options{Sink: sink})
	assert.NoError(t, err, "a Sink alone is enough")
}

// TestSecretNotLeaked: the Authorization value reaches the receiver but no
// log line, error, Stats or String.
func TestSecretNotLeaked(t *testing.T) {
	const secret = "Bearer tok-9f8e7d6c5b4a"
	var logs testkit.Buffer
	rc := newReceiver(t, Form, 0, 0)
	rc.wantAuth = secret
	rc.setMode(func([]Packet) int { return http.StatusForbidden })
	srv := serve(t, rc, "")
	ho := Options{URL: srv.URL, Logger: newLogger(&logs), Authorization: status.Secret(secret)}
	p, err := New(ho)
	require.NoError(t, err)
	err = p.ReportBatch(context.Background(), buildEvents(1, 1))
	require.Error(t, err)
	assert.Equal(t, 1, rc.refused, "the request reached the receiver")
	assert.Equal(t, uint64(1), p.Stats().Rejected)
	for name, s := range map[string]string{
		"log": logs.String(), "error": err.Error(), "stats": fmt.Sprintf("%+v", p.Stats()), "string": p.String(),
		"options": fmt.Sprintf("%+v %#v", ho, ho), "slog": slogString(ho),
	} {
		assert.NotContains(t, s, "tok-9f8e7d6c5b4a", "secret leaked into %s", name)
	}
}

func slogString(v any) string {
	var l testkit.Buffer
	newLogger(&l).Info("options", "o", v)
	return l.String()
}

// TestConformance runs the Reporter contract against a healthy receiver.
func TestConformance(t *testing.T) {
	rc := newReceiver(t, Form, 200, 1<<20)
	srv := serve(t, rc, "")
	statustest.Conformance(t, func() status.Reporter {
		p, err := New(Options{URL: srv.URL})
		require.NoError(t, err)
		return p
	})
}

// FuzzFormSize: the size the Pusher computes for a Form body is the size
// of the body it sends, and the body is what url.Values would encode.
func FuzzFormSize(f *testing.F) {
	f.Add([]byte(`{"id":1,"payload":{"a":"b c+d%"}}`), []byte(`{"id":2}`), "k", "v&=")
	f.Add([]byte("\x00\xff é"), []byte(""), "", "")
	f.Fuzz(func(t *testing.T, a, b []byte, k, v string) {
		tr := &httpTransport{format: Form}
		extra := url.Values{}
		if k != "" {
			extra.Set(k, v)
			tr.extra = "&" + extra.Encode()
		}
		batch := []rec{{data: a}, {data: b}}
		size := tr.base() + tr.cost(a) + tr.cost(b)
		body := tr.body(batch, size)
		require.Len(t, body, size, "computed size")
		want := "packets=" + url.QueryEscape("["+string(a)+","+string(b)+"]") + tr.extra
		require.Equal(t, want, string(body))
	})
}

// FuzzDecodePackets: decoding what a receiver got never panics, and what
// decodes re-encodes to packets that decode the same.
func FuzzDecodePackets(f *testing.F) {
	f.Add([]byte(`[{"id":"hub-1","timestamp":"2026-01-02 15:04:05","project":"p","started":"x","event":"start","payload":{}}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"id":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := DecodePackets(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(ps)
		if err != nil {
			return // a payload that is not valid JSON on its own
		}
		_, err = DecodePackets(again)
		require.NoError(t, err, "re-encoded packets decode")
	})
}

// Given no logger, the Pusher logs through the Hub's, named.
func TestLogsThroughTheHub(t *testing.T) {
	p, err := New(Options{Sink: func(context.Context, []Packet) error { return errors.New("no thanks") }})
	require.NoError(t, err)
	lines := testkit.HubLog(t, p, status.Event{Kind: status.MasterStarted})
	assert.Contains(t, lines, testkit.LogLine{Level: "ERROR", Reporter: "push", Msg: "push: packets dropped: receiver refused the batch"})
}
