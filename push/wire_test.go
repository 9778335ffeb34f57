package push

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, *update, name, got)
}

// wireEvents is a build's life plus a change, a worker and the master.
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
	return append(evs, b.Events()...)
}

var pythonTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$`)

// TestWireFormat: a receiver reading the request as 0.8.12 receivers did
// (request.args["packets"][0], json.loads) gets Buildbot's packet layout;
// the packets are compared to a golden file.
func TestWireFormat(t *testing.T) {
	rc := newReceiver(t, Form, 200, 1<<20)
	rc.wantExtra = map[string]string{"key": "s3cret&=x", "site": "ci"}
	srv := serve(t, rc, "")
	o := Options{Project: "Herald test", BufferDelay: time.Hour, Now: func() time.Time { return statustest.Epoch }}
	p, err := HTTP(srv.URL+"/submit", HTTPOptions{Options: o,
		ExtraPostParams: url.Values{"key": {"s3cret&=x"}, "site": {"ci"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range wireEvents() {
		if err := p.Report(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(context.Background()); err != nil { // sends the one batch
		t.Fatal(err)
	}
	bodies := rc.bodies
	if len(bodies) != 1 {
		t.Fatalf("%d requests, want 1", len(bodies))
	}
	form, err := url.ParseQuery(string(bodies[0]))
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]any // as json.loads sees it
	if err := json.Unmarshal([]byte(form.Get("packets")), &raw); err != nil {
		t.Fatal(err)
	}
	for i, pk := range raw {
		var keys []string
		for k := range pk {
			keys = append(keys, k)
		}
		if len(pk) != 6 || pk["id"] != float64(i+1) || pk["project"] != "Herald test" ||
			!pythonTimestamp.MatchString(fmt.Sprint(pk["timestamp"])) || !pythonTimestamp.MatchString(fmt.Sprint(pk["started"])) {
			t.Errorf("packet %d = %v: want exactly id, timestamp, project, started, event, payload", i, pk)
		}
		if _, ok := pk["payload"].(map[string]any); !ok {
			t.Errorf("packet %d payload is %T, want an object", i, pk["payload"])
		}
	}
	var pretty bytes.Buffer // the wire bytes, indented: field order as sent
	if err := json.Indent(&pretty, []byte(form.Get("packets")), "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden(t, "packets.golden", pretty.Bytes())
}

// TestJSONFormat: Format JSON posts the array as application/json.
func TestJSONFormat(t *testing.T) {
	rc := newReceiver(t, JSON, 200, 1<<20)
	srv := serve(t, rc, "")
	o := fastOptions()
	p, err := HTTP(srv.URL, HTTPOptions{Options: o, Format: JSON})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 50; i++ {
		if err := p.Report(context.Background(), buildEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	rc.wait("50 packets", 10*time.Second, func(rc *receiver) bool { return len(rc.got) >= 50 })
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkInOrder(t, rc.packets(), 1, 50)
}

// TestListsAndFilter: WhiteList and BlackList select events by name; empty
// values are filtered unless KeepEmpty.
func TestListsAndFilter(t *testing.T) {
	var got []Packet
	sink := func(_ context.Context, ps []Packet) error { got = append(got, ps...); return nil }
	run := func(o Options) []Packet {
		got = nil
		o.Sink, o.BufferDelay = sink, time.Hour
		p, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range wireEvents() {
			if err := p.Report(context.Background(), e); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		return got
	}
	names := func(ps []Packet) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Event)
		}
		return strings.Join(s, ",")
	}
	if n := names(run(Options{WhiteList: []string{"buildStarted", "buildFinished"}})); n != "buildStarted,buildFinished" {
		t.Errorf("WhiteList gave %s", n)
	}
	if n := names(run(Options{BlackList: []string{"logChunk", "logStarted", "logFinished", "stepStarted", "stepFinished"}})); n !=
		"start,changeAdded,slaveConnected,builderChangedState,buildStarted,buildFinished" {
		t.Errorf("BlackList gave %s", n)
	}
	filtered := run(Options{WhiteList: []string{"buildStarted"}})[0].Payload
	kept := run(Options{WhiteList: []string{"buildStarted"}, KeepEmpty: true})[0].Payload
	if bytes.Contains(filtered, []byte(`"finished"`)) || bytes.Contains(filtered, []byte(`"text":null`)) {
		t.Errorf("filtered payload keeps empty values: %s", filtered)
	}
	if !bytes.Contains(kept, []byte(`"finished":"0001-01-01T00:00:00Z"`)) {
		t.Errorf("KeepEmpty payload lost empty values: %s", kept)
	}
	if !bytes.Contains(filtered, []byte(`"results":0`)) {
		t.Errorf("filter dropped results=0 (success): %s", filtered)
	}
}

// TestOptions: bad options are refused up front with a message saying what
// to do.
func TestOptions(t *testing.T) {
	sink := func(context.Context, []Packet) error { return nil }
	for _, tc := range []struct {
		url  string
		o    HTTPOptions
		want string
	}{
		{"", HTTPOptions{}, "server URL is empty"},
		{"ftp://x/y", HTTPOptions{}, "want an absolute http://"},
		{"http://u:pw@host/x", HTTPOptions{}, "put them in HTTPOptions.Authorization"},
		{"http://host/x", HTTPOptions{Options: Options{Sink: sink}}, "use push.New for a Sink"},
		{"http://host/x", HTTPOptions{Format: 7}, "use push.Form or push.JSON"},
		{"http://host/x", HTTPOptions{Options: Options{ChunkSize: -1}}, "Options.ChunkSize is negative"},
		{"http://host/x", HTTPOptions{Options: Options{RetryDelay: -time.Second}}, "Options.RetryDelay is negative"},
		{"http://host/x", HTTPOptions{Options: Options{RetryDelay: time.Hour, MaxRetryDelay: time.Minute}}, "raise MaxRetryDelay"},
		{"http://host/x", HTTPOptions{Options: Options{WhiteList: []string{"buildfinished"}}}, `unknown event "buildfinished"`},
	} {
		_, err := HTTP(tc.url, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("HTTP(%q, %+v) = %v, want an error containing %q", tc.url, tc.o, err, tc.want)
		}
	}
	if _, err := New(Options{}); err == nil || !strings.Contains(err.Error(), "Options.Sink is nil") {
		t.Errorf("New without Sink = %v", err)
	}
	dir := t.TempDir()
	p, err := New(Options{Sink: sink, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if _, err := New(Options{Sink: sink, Dir: dir}); err == nil || !strings.Contains(err.Error(), "give each Pusher its own Options.Dir") {
		t.Errorf("second Pusher on one Dir = %v", err)
	}
}

// TestSecretNotLeaked: the Authorization value reaches the receiver but no
// log line, error, Stats or String.
func TestSecretNotLeaked(t *testing.T) {
	const secret = "Bearer tok-9f8e7d6c5b4a"
	var logs logBuffer
	rc := newReceiver(t, Form, 0, 0)
	rc.wantAuth = secret
	rc.setMode(func([]Packet) int { return http.StatusForbidden })
	srv := serve(t, rc, "")
	o := fastOptions()
	o.Logger = logs.logger()
	ho := HTTPOptions{Options: o, Authorization: status.Secret(secret)}
	p, err := HTTP(srv.URL, ho)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Report(context.Background(), buildEvent(1)); err != nil {
		t.Fatal(err)
	}
	rc.wait("the refused request", 10*time.Second, func(rc *receiver) bool { return rc.refused > 0 })
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Rejected != 1 {
		t.Errorf("403 not rejected: %+v", st)
	}
	for name, s := range map[string]string{
		"log": logs.String(), "stats": fmt.Sprintf("%+v", st), "string": p.String(),
		"options": fmt.Sprintf("%+v %#v", ho, ho), "slog": slogString(ho),
	} {
		if strings.Contains(s, "tok-9f8e7d6c5b4a") {
			t.Errorf("secret leaked into %s: %s", name, s)
		}
	}
}

func slogString(v any) string {
	var l logBuffer
	l.logger().Info("options", "o", v)
	return l.String()
}

// TestConformance runs the Reporter contract against a healthy receiver.
func TestConformance(t *testing.T) {
	rc := newReceiver(t, Form, 200, 1<<20)
	srv := serve(t, rc, "")
	statustest.Conformance(t, func() status.Reporter {
		p, err := HTTP(srv.URL, HTTPOptions{Options: fastOptions()})
		if err != nil {
			t.Fatal(err)
		}
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
		batch := []rec{{id: 1, data: a}, {id: 2, data: b}}
		size := tr.base() + tr.cost(a) + tr.cost(b)
		body := tr.body(batch, size)
		if len(body) != size {
			t.Fatalf("computed size %d, body %d", size, len(body))
		}
		want := "packets=" + url.QueryEscape("["+string(a)+","+string(b)+"]") + tr.extra
		if string(body) != want {
			t.Fatalf("body %q, want %q", body, want)
		}
	})
}

// FuzzDecodePackets: decoding what a receiver got never panics, and what
// decodes re-encodes to packets that decode the same.
func FuzzDecodePackets(f *testing.F) {
	f.Add([]byte(`[{"id":1,"timestamp":"2026-01-02 15:04:05","project":"p","started":"x","event":"start","payload":{}}]`))
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
		if _, err := DecodePackets(again); err != nil {
			t.Fatalf("re-encoded packets do not decode: %v", err)
		}
	})
}
