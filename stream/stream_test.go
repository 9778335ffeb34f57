package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const user, password = "alice", "correct horse battery"

func newTestServer(t *testing.T, o Options) (*Server, *httptest.Server) {
	t.Helper()
	if o.Auth == nil && !o.Anonymous {
		o.Auth = auth.Users(map[string]status.Secret{user: password})
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
		hs.Close()
	})
	return s, hs
}

var creds = Credentials{User: user, Password: password}

func report(t testing.TB, s *Server, evs ...status.Event) {
	t.Helper()
	for _, e := range evs {
		if err := s.Report(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// builderEvent is event i: builder b changed (state alternating).
func builderEvent(b string, i int) status.Event {
	return status.Event{Kind: status.BuilderChanged, Time: statustest.Epoch, Seq: uint64(i),
		Builder: &status.Builder{Name: b, Tags: []string{"tag-" + b}, State: status.BuilderState(i % 2), Pending: i}}
}

// next receives one message or fails.
func next(t testing.TB, c *Client) Message {
	t.Helper()
	select {
	case m, ok := <-c.Messages():
		if !ok {
			t.Fatalf("client stopped: %v", c.Err())
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	return Message{}
}

func get(t *testing.T, url string, h http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func basic(u, p string) http.Header {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(u, p)
	return r.Header
}

func TestAuth(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	for _, tc := range []struct {
		name string
		h    http.Header
		want int
	}{
		{"none", nil, 401},
		{"wrong password", basic(user, "correct horse battery!"), 401},
		{"short password", basic(user, "c"), 401},
		{"unknown user", basic("mallory", password), 401},
		{"right", basic(user, password), 200},
	} {
		resp := get(t, hs.URL, tc.h)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if tc.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Basic realm="herald"`) {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, resp.Header.Get("WWW-Authenticate"))
		}
		resp.Body.Close()
	}
	if st := s.Stats(); st.Refused != 4 {
		t.Errorf("Refused = %d, want 4", st.Refused)
	}
	if _, err := Dial(context.Background(), hs.URL, Credentials{User: user, Password: "nope"}, Filter{}); err != ErrUnauthorized {
		t.Errorf("Dial with a wrong password = %v, want ErrUnauthorized", err)
	}

	// Any auth.Authenticator; Anonymous lets clients without credentials in.
	_, hs2 := newTestServer(t, Options{Auth: auth.Func(func(_ context.Context, u, p string) error {
		if u == "bot" && p == "tok" {
			return nil
		}
		return auth.ErrDenied
	})})
	if r := get(t, hs2.URL, basic("bot", "tok")); r.StatusCode != 200 {
		t.Errorf("auth.Func: status %d", r.StatusCode)
	}
	_, hs3 := newTestServer(t, Options{Anonymous: true})
	if r := get(t, hs3.URL, nil); r.StatusCode != 200 {
		t.Errorf("Anonymous: status %d", r.StatusCode)
	}
	if _, err := New(Options{}); err == nil || !strings.Contains(err.Error(), "Anonymous: true") {
		t.Errorf("New without auth = %v", err)
	}
}

// TestSecretNotLeaked: passwords never show in errors, logs or String.
func TestSecretNotLeaked(t *testing.T) {
	var logs testkit.Buffer
	o := Options{Auth: auth.Users(map[string]status.Secret{user: password}), Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	s, hs := newTestServer(t, o)
	get(t, hs.URL, basic(user, "wrong")).Body.Close()
	c, err := Dial(context.Background(), hs.URL, creds, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	next(t, c)
	c.Close()
	_, err = Dial(context.Background(), "ftp://x", creds, Filter{})
	for _, out := range []string{logs.String(), fmt.Sprintf("%v %+v %#v", o, o, creds), fmt.Sprint(err), fmt.Sprintf("%+v", s.Stats())} {
		if strings.Contains(out, password) {
			t.Errorf("password leaked: %s", out)
		}
	}
}

// TestFilters: builder, tag and kind query arguments select events and
// the snapshot's builders.
func TestFilters(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	report(t, s, builderEvent("linux", 1), builderEvent("windows", 2))
	c, err := Dial(context.Background(), hs.URL, creds, Filter{Builders: []string{"linux"}, Kinds: []status.Kind{status.BuildFinished}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := next(t, c)
	if m.Snapshot == nil || len(m.Snapshot.Builders) != 1 || m.Snapshot.Builders[0].Name != "linux" {
		t.Fatalf("snapshot %+v, want builder linux only", m.Snapshot)
	}
	win := statustest.NewBuild("windows").Number(1).Failed().Events()
	lin := statustest.NewBuild("linux").Number(2).Step("test", status.Success).Succeeded().Events()
	report(t, s, win...)
	report(t, s, lin...)
	m = next(t, c)
	if m.Event == nil || m.Event.Kind != status.BuildFinished || m.Event.Build.Builder != "linux" {
		t.Fatalf("got %+v, want linux's buildFinished", m.Event)
	}

	c2, err := Dial(context.Background(), hs.URL, creds, Filter{Tags: []string{"tag-windows"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if m := next(t, c2); m.Snapshot == nil || len(m.Snapshot.Builders) != 1 || m.Snapshot.Builders[0].Name != "windows" {
		t.Fatalf("tag snapshot %+v", m.Snapshot)
	}
	report(t, s, builderEvent("linux", 100), builderEvent("windows", 101))
	if m := next(t, c2); m.Event == nil || m.Event.Builder.Name != "windows" {
		t.Fatalf("tag filter let through %+v", m.Event)
	}

	for _, q := range []string{"?kind=nope", "?format=xml", "?since=x"} {
		r := get(t, hs.URL+q, basic(user, password))
		if r.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", q, r.StatusCode)
		}
	}
}

// TestResume: a client whose connections are cut while events keep coming
// gets every event once, in order; Last-Event-ID beyond the replay buffer
// gets a snapshot and counts a gap.
func TestResume(t *testing.T) {
	const n = 3000
	s, hs := newTestServer(t, Options{Replay: 5000})
	c, err := Dial(context.Background(), hs.URL, creds, Filter{}, WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if m := next(t, c); m.Snapshot == nil {
		t.Fatal("first message is not a snapshot")
	}
	got := make(chan uint64, n)
	go func() {
		for m := range c.Messages() {
			if m.Event != nil {
				got <- m.Event.Seq
			}
		}
		close(got)
	}()
	for i := 1; i <= n; i++ {
		report(t, s, builderEvent("linux", i))
		if i%500 == 0 {
			hs.CloseClientConnections() // the client must reconnect and resume
		}
	}
	for want := uint64(1); want <= n; want++ {
		select {
		case seq := <-got:
			if seq != want {
				t.Fatalf("event %d arrived where %d was due (gap or duplicate)", seq, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("event %d never arrived", want)
		}
	}
	st := c.Stats()
	if st.Reconnects < 1 || st.Gaps != 0 || st.LastSeq != n {
		t.Errorf("client stats %+v: want reconnects, no gaps, last %d", st, n)
	}
	if s.Stats().Replayed == 0 {
		t.Error("no event was replayed")
	}

	// A Last-Event-ID that left the replay buffer gets a snapshot.
	s2, hs2 := newTestServer(t, Options{Replay: 10})
	for i := 1; i <= 50; i++ {
		report(t, s2, builderEvent("linux", i))
	}
	h := basic(user, password)
	h.Set("Last-Event-ID", "5")
	r := get(t, hs2.URL, h)
	rd := newSSEReader(r.Body)
	ev, err := rd.next()
	if err != nil || ev.event != "snapshot" || ev.id != "50" {
		t.Fatalf("stale resume got %+v, %v; want a snapshot as of 50", ev, err)
	}
	h.Set("Last-Event-ID", "45")
	r = get(t, hs2.URL, h)
	rd = newSSEReader(r.Body)
	for want := 46; want <= 50; want++ {
		ev, err := rd.next()
		if err != nil || ev.id != fmt.Sprint(want) || ev.event != "builderChanged" {
			t.Fatalf("resume from 45 got %+v, %v; want event %d", ev, err, want)
		}
	}
}

// TestSlowClient: a client that stops reading is cut off once its buffer is
// full, without slowing Report, while another client keeps receiving.
func TestSlowClient(t *testing.T) {
	const n = 150
	s, hs := newTestServer(t, Options{ClientBuffer: 8})
	stalled := get(t, hs.URL, basic(user, password)) // never read until the end
	c, err := Dial(context.Background(), hs.URL, creds, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	next(t, c) // snapshot
	chunk := strings.Repeat("x", 64<<10)
	received := make(chan int, n)
	done := make(chan time.Duration)
	go func() {
		var spent time.Duration
		for i := 1; i <= n; i++ {
			if i > 4 {
				<-received // keep the healthy client within its buffer
			}
			e := status.Event{Kind: status.LogAppended, Seq: uint64(i), Chunk: chunk,
				Log: &status.LogRef{Builder: "linux", Build: 1, Step: "test", Name: "stdio"}}
			start := time.Now()
			_ = s.Report(context.Background(), e)
			spent = max(spent, time.Since(start))
		}
		done <- spent
	}()
	for i := 1; i <= n; i++ {
		m := next(t, c)
		if m.Event == nil || m.Event.Seq != uint64(i) {
			t.Fatalf("healthy client got %+v at %d", m.Event, i)
		}
		received <- i
	}
	if slowest := <-done; slowest > time.Second {
		t.Errorf("a Report took %v: the stalled client slowed it", slowest)
	}
	if st := s.Stats(); st.Cut != 1 {
		t.Fatalf("Cut = %d, want 1 (the stalled client)", st.Cut)
	}
	// The stalled client finds the stream ended after what was buffered:
	// with the cut notice, or cut short when even the notice could not be
	// written before the write deadline.
	b, err := io.ReadAll(stalled.Body)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return
	}
	if err != nil {
		t.Fatalf("stalled stream: %v", err)
	}
	if !bytes.HasSuffix(b, []byte(": disconnected: too slow; reconnect with Last-Event-ID to resume\n\n")) {
		t.Errorf("stalled stream does not end with the cut notice: ...%q", b[max(0, len(b)-120):])
	}
}

// TestNoGoroutineLeak: handlers end when their clients go.
func TestNoGoroutineLeak(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	tr := &http.Transport{}
	before := runtime.NumGoroutine()
	var cs []*Client
	for range 20 {
		c, err := Dial(context.Background(), hs.URL, creds, Filter{}, WithHTTPClient(&http.Client{Transport: tr}))
		if err != nil {
			t.Fatal(err)
		}
		next(t, c)
		cs = append(cs, c)
	}
	if st := s.Stats(); st.Clients != 20 {
		t.Fatalf("Clients = %d, want 20", st.Clients)
	}
	report(t, s, builderEvent("linux", 1))
	for _, c := range cs {
		next(t, c)
		c.Close()
	}
	tr.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Clients != 0 || runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d clients, %d goroutines (before: %d):\n%s", s.Stats().Clients, runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond) // polling the runtime, not synchronising
	}
}

// TestNDJSON: format=ndjson sends a snapshot line, then one event per line.
func TestNDJSON(t *testing.T) {
	s, hs := newTestServer(t, Options{})
	report(t, s, builderEvent("linux", 1))
	r := get(t, hs.URL+"?format=ndjson", basic(user, password))
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("Content-Type %q", ct)
	}
	sc := bufio.NewScanner(r.Body)
	sc.Scan()
	var first struct{ Snapshot *Snapshot }
	if err := json.Unmarshal(sc.Bytes(), &first); err != nil || first.Snapshot == nil || first.Snapshot.Seq != 1 {
		t.Fatalf("first line %s: %v", sc.Bytes(), err)
	}
	report(t, s, builderEvent("linux", 2))
	sc.Scan()
	var e status.Event
	if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Seq != 2 || e.Kind != status.BuilderChanged {
		t.Fatalf("event line %s: %v", sc.Bytes(), err)
	}
}

// TestSnapshotFromHistory: with History, the snapshot lists its builders
// and their latest builds.
func TestSnapshotFromHistory(t *testing.T) {
	h := statustest.NewHistory(statustest.NewBuild("linux").Number(4).Failed().Build())
	h.AddBuilder(status.Builder{Name: "linux", State: status.Idle})
	_, hs := newTestServer(t, Options{History: h})
	c, err := Dial(context.Background(), hs.URL, creds, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := next(t, c)
	if m.Snapshot == nil || len(m.Snapshot.Builders) != 1 || len(m.Snapshot.Builds) != 1 || m.Snapshot.Builds[0].Number != 4 {
		t.Fatalf("snapshot %+v", m.Snapshot)
	}
}

// TestWire compares the SSE frames of a build's life, read off the wire,
// with a golden file.
func TestWire(t *testing.T) {
	s, hs := newTestServer(t, Options{Anonymous: true})
	report(t, s, builderEvent("linux", 1))
	resp := get(t, hs.URL, nil)
	require.Equal(t, 200, resp.StatusCode)
	br := bufio.NewReader(resp.Body)
	var out bytes.Buffer
	frame := func() {
		for {
			line, err := br.ReadString('\n')
			require.NoError(t, err)
			out.WriteString(line)
			if line == "\n" {
				return
			}
		}
	}
	frame() // the snapshot
	evs := statustest.NewBuild("linux").Number(7).Step("compile", status.Success).Failed().Events()
	for i, e := range evs {
		e.Seq = uint64(i + 2)
		report(t, s, e)
	}
	for range evs {
		frame()
	}
	path := filepath.Join("testdata", "stream.golden")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("SSE frames differ from %s (go test -update rewrites it):\n%s", path, out.Bytes())
	}
	// And the client reads back what was written.
	rd := newSSEReader(bytes.NewReader(want))
	for {
		ev, err := rd.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := decodeMessage(ev); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConformance(t *testing.T) {
	statustest.Conformance(t, func() status.Reporter {
		s, err := New(Options{Anonymous: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func FuzzSSEReader(f *testing.F) {
	f.Add([]byte("id: 1\nevent: builderChanged\ndata: {\"kind\":\"builderChanged\",\"seq\":1}\n\n"))
	f.Add([]byte(": keep-alive\r\n\r\nid: 2\rdata: a\rdata: b\r\r"))
	f.Add([]byte("data\n\nid\x00: x\nevent: snapshot\ndata: {\"seq\":3,\"builders\":[]}\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rd := newSSEReader(bytes.NewReader(b))
		for range 1000 {
			ev, err := rd.next()
			if err != nil {
				return
			}
			if bytes.Contains([]byte(ev.id), []byte{'\n'}) || strings.ContainsAny(ev.event, "\r\n") {
				t.Fatalf("line break inside a field: %+v", ev)
			}
			_, _, _ = decodeMessage(ev)
		}
	})
}

func FuzzParseFilter(f *testing.F) {
	f.Add("builder=linux&tag=ci,nightly&kind=buildFinished")
	f.Add("kind=&builder=%2C")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		fl, err := ParseFilter(v)
		if err != nil {
			return
		}
		again, err := ParseFilter(fl.Query())
		if err != nil || fmt.Sprint(again) != fmt.Sprint(fl) {
			t.Fatalf("filter %+v does not survive Query: %+v, %v", fl, again, err)
		}
	})
}

// TestKeepAlive: an idle stream gets keep-alive comments.
func TestKeepAlive(t *testing.T) {
	_, hs := newTestServer(t, Options{KeepAlive: 10 * time.Millisecond})
	r := get(t, hs.URL, basic(user, password))
	br := bufio.NewReader(r.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == ": keep-alive\n" {
			return
		}
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []Options{
		{Anonymous: true, Replay: -1},
		{Anonymous: true, ClientBuffer: -1},
		{Anonymous: true, KeepAlive: -time.Second},
		{Anonymous: true, WriteTimeout: -time.Second},
		{},
	} {
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), "stream: Options.") {
			t.Errorf("New(%+v) = %v, want an Options error", o, err)
		}
	}
}

// Given no logger, the Server logs through the Hub's, named.
func TestLogsThroughTheHub(t *testing.T) {
	s, err := New(Options{Auth: auth.Func(func(context.Context, string, string) error {
		return errors.New("the user database is down")
	})})
	require.NoError(t, err)
	_, logs := testkit.LoggingHub(t, s)
	srv := httptest.NewServer(s)
	defer srv.Close()
	req, err := http.NewRequest("GET", srv.URL, nil)
	require.NoError(t, err)
	req.SetBasicAuth("alice", "pw")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, logs.Lines(), testkit.LogLine{Level: "ERROR", Reporter: "stream", Msg: "stream: checking credentials"})
}
