package hooks

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
)

// rawRequest writes head (and part) on a fresh loopback connection and
// returns the status line the server answers.
func rawRequest(t *testing.T, addr, head string, part []byte) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	// A guard against a hang, not a measure: the answer comes in
	// milliseconds, or not at all.
	require.NoError(t, conn.SetDeadline(time.Now().Add(2*time.Minute)))
	_, err = io.WriteString(conn, head)
	require.NoError(t, err)
	_, err = conn.Write(part)
	require.NoError(t, err)
	line, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	return strings.TrimSpace(line)
}

// TestBodyTimeout: a client that declares a body and trickles it is
// answered 408 once BodyTimeout passes, instead of holding the handler.
func TestBodyTimeout(t *testing.T) {
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{}}, BodyTimeout: 100 * time.Millisecond})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	head := "POST /change_hook/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nContent-Length: 5000\r\n\r\n"
	assert.Equal(t, "HTTP/1.1 408 Request Timeout", rawRequest(t, srv.Listener.Addr().String(), head, []byte(`{"ref":`)))
	assert.Empty(t, s.all())
}

// TestRefusedBeforeTheBody: what the headers alone decide is answered
// without waiting for (or buffering) the body the client claims to send.
func TestRefusedBeforeTheBody(t *testing.T) {
	h, _, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitLab{Secret: "glpat"}, &GitHub{Secret: "s", Strict: true}, &Bitbucket{Secret: "s", Strict: true}}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ path, headers, want string }{
		{"gitlab", "X-Gitlab-Token: wrong\r\nContent-Type: application/json\r\n", "HTTP/1.1 403 Forbidden"},
		{"gitlab", "Content-Type: application/json\r\n", "HTTP/1.1 403 Forbidden"},
		{"github", "X-GitHub-Event: push\r\nContent-Type: application/json\r\n", "HTTP/1.1 403 Forbidden"},
		{"github", "X-Hub-Signature-256: sha256=00\r\nContent-Type: text/plain\r\n", "HTTP/1.1 415 Unsupported Media Type"},
		{"bitbucket", "X-Event-Key: repo:push\r\nContent-Type: application/json\r\n", "HTTP/1.1 403 Forbidden"},
	} {
		head := "POST /change_hook/" + tc.path + " HTTP/1.1\r\nHost: x\r\n" + tc.headers + "Content-Length: 1000000\r\n\r\n"
		assert.Equal(t, tc.want, rawRequest(t, srv.Listener.Addr().String(), head, nil), tc.path+": "+tc.headers)
	}
}

// TestBodyBufferGrowsAsBytesArrive: a Content-Length is a claim; the buffer
// holds what came, not what was announced.
func TestBodyBufferGrowsAsBytesArrive(t *testing.T) {
	h, _, _ := newTestHandler(t, Options{Dialects: []Dialect{Base{}}})
	r := httptest.NewRequest("POST", "/change_hook/base", bytes.NewReader(make([]byte, 1000)))
	r.ContentLength = 10 << 20
	var buf bytes.Buffer
	require.NoError(t, h.readBody(&buf, httptest.NewRecorder(), r))
	assert.Equal(t, 1000, buf.Len())
	assert.LessOrEqual(t, buf.Cap(), initialBody+bytes.MinRead)
}

func TestMaxChanges(t *testing.T) {
	body := readTestdata(t, "github/push-25.json")
	h, s, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{}}, MaxChanges: 10})
	code, msg, _ := do(t, h, req{path: "/change_hook/github", ctype: "application/json", body: body, header: map[string]string{"X-GitHub-Event": "push"}})
	assert.Equal(t, 413, code)
	assert.Equal(t, "the delivery makes 25 changes, more than the 10 allowed (Options.MaxChanges): push fewer commits at once", strings.TrimSpace(msg))
	assert.Empty(t, s.all())

	_, err := New(Options{OnChanges: s.onChanges, MaxChanges: -1, MaxBodyBytes: -1})
	require.Error(t, err)
	for _, want := range []string{"Options.MaxChanges is -1", "Options.MaxBodyBytes is -1", "Options.Dialects is empty"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestBaseAsBuildbot(t *testing.T) {
	t.Run("GET with query arguments", func(t *testing.T) {
		code, msg, changes := deliver(t, Base{}, req{method: "GET", path: "/change_hook/base?author=alice&committer=bob&revision=abc&branch=main&comments=hi&when=1700000000.5"})
		require.Equal(t, 200, code, msg)
		require.Equal(t, []status.Change{{
			Author: "alice", Committer: "bob", Revision: "abc", Branch: "main", Comments: "hi",
			When: time.Unix(1700000000, 5e8).UTC(),
		}}, changes)
	})
	t.Run("no when: the time of receipt", func(t *testing.T) {
		code, msg, changes := deliver(t, Base{}, req{ctype: "application/x-www-form-urlencoded", body: []byte("author=alice&revision=abc")})
		require.Equal(t, 200, code, msg)
		require.Len(t, changes, 1)
		assert.Equal(t, received, changes[0].When)
	})
	for _, when := range []string{"NaN", "nan", "Inf", "-Inf", "+Infinity", "-1", "1e20", "253402300800", "0x10"} {
		t.Run("when="+when, func(t *testing.T) {
			code, msg, changes := deliver(t, Base{}, req{ctype: "application/x-www-form-urlencoded", body: []byte("author=a&when=" + url.QueryEscape(when))})
			assert.Equal(t, 400, code)
			assert.Equal(t, fmt.Sprintf("bad payload: when %q is not a Unix time between 1970 and 9999", when), msg)
			assert.Empty(t, changes)
		})
	}
}

func TestReceiveTimeWhenPayloadHasNone(t *testing.T) {
	custom := &GitHub{Events: map[string]func(*Request, []byte) ([]status.Change, error){
		"release": func(*Request, []byte) ([]status.Change, error) {
			return []status.Change{{Revision: "v1"}, {Revision: "v2", When: time.Unix(5, 0).UTC()}}, nil
		},
	}}
	code, msg, changes := deliver(t, custom, req{ctype: "application/json", body: []byte(`{}`), header: map[string]string{"X-GitHub-Event": "release"}})
	require.Equal(t, 200, code, msg)
	require.Len(t, changes, 2)
	assert.Equal(t, received, changes[0].When)
	assert.Equal(t, time.Unix(5, 0).UTC(), changes[1].When)
}

// countingListener counts the bytes its connections have read.
type countingListener struct {
	net.Listener
	read atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return &countingConn{Conn: c, read: &l.read}, err
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// TestStalledBodiesHoldLittleMemory: 100 connections that declare 10 MiB
// bodies, send 1 KiB and wait keep the heap growth far under 50 MiB (before,
// each pinned a 10 MiB buffer at once: 1 GB).
func TestStalledBodiesHoldLittleMemory(t *testing.T) {
	h, _, _ := newTestHandler(t, Options{Dialects: []Dialect{&GitHub{}}, MaxBodyBytes: 20 << 20})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cl := &countingListener{Listener: ln}
	srv := &http.Server{Handler: h}
	go srv.Serve(cl)
	t.Cleanup(func() { srv.Close() })

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := rssBytes(t)

	const conns = 100
	head := "POST /change_hook/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nContent-Length: 10485760\r\n\r\n"
	part := bytes.Repeat([]byte(" "), 1024)
	for range conns {
		conn, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		_, err = io.WriteString(conn, head)
		require.NoError(t, err)
		_, err = conn.Write(part)
		require.NoError(t, err)
	}
	// Wait until the server has read everything that was sent: every
	// handler then sits in its body read.
	want := int64(conns * (len(head) + len(part)))
	for cl.read.Load() < want {
		runtime.Gosched()
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	rss := rssBytes(t) - rssBefore
	t.Logf("with %d stalled 10 MiB bodies: heap growth %d KiB, RSS growth %d KiB", conns, growth>>10, rss>>10)
	assert.Less(t, growth, int64(50<<20))
	assert.Less(t, rss, int64(50<<20), "RSS growth")
}

// rssBytes reads the process's resident set size (Linux); other systems
// skip the RSS half of the check.
func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status: RSS not measured here")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			_, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Skip("no VmRSS line")
	return 0
}
