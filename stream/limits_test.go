package stream

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
)

// rawGet opens a stream from localIP with a tiny receive buffer, reads the
// response head and returns the connection, unread beyond it.
func rawGet(t *testing.T, hs *httptest.Server, localIP, path string) (net.Conn, *http.Response, int) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
	conn, err := d.Dial("tcp", hs.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	if tc, ok := conn.(*net.TCPConn); ok {
		require.NoError(t, tc.SetReadBuffer(4096))
	}
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	require.NoError(t, err)
	br := bufio.NewReaderSize(conn, 512)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	return conn, resp, resp.StatusCode
}

// A client that stops reading is released after WriteTimeout, although it
// never falls behind the Server (its buffer holds everything), so only the
// write deadline can free it.
func TestStalledReaderReleased(t *testing.T) {
	s, hs := newTestServer(t, Options{Anonymous: true, ClientBuffer: 1 << 16, WriteTimeout: 200 * time.Millisecond})
	_, _, code := rawGet(t, hs, "127.0.0.1", "/")
	require.Equal(t, 200, code)
	require.Equal(t, 1, s.Stats().Clients)
	chunk := strings.Repeat("x", 32<<10)
	start := time.Now()
	// Each event fills the socket more; the handler blocks in a write once
	// the kernel buffers are full and must give up at the deadline.
	for i := 1; s.Stats().Clients > 0; i++ {
		require.Less(t, i, 100_000, "the stalled client was never released")
		report(t, s, status.Event{Kind: status.LogAppended, Chunk: chunk,
			Log: &status.LogRef{Builder: "linux", Build: 1, Step: "test", Name: "stdio"}})
		if i%64 == 0 {
			runtime.Gosched() // let the handler write
		}
	}
	t.Logf("released after %v (WriteTimeout 200ms)", time.Since(start))
	assert.Zero(t, s.Stats().Cut, "released by the deadline, not cut for falling behind")
}

// 1,000 streams from one address get 503 beyond the per-address cap and do
// not lock another address out.
func TestStreamCapsPerAddress(t *testing.T) {
	s, hs := newTestServer(t, Options{Anonymous: true, MaxClientsPerAddr: 20})
	ok, refused := 0, 0
	for range 1000 {
		conn, resp, code := rawGet(t, hs, "127.0.0.1", "/")
		switch code {
		case 200:
			ok++
		case 503:
			refused++
			body, _ := io.ReadAll(resp.Body)
			require.Contains(t, string(body), "too many open streams from your address")
			conn.Close()
		default:
			t.Fatalf("status %d", code)
		}
	}
	assert.Equal(t, 20, ok)
	assert.Equal(t, 980, refused)
	_, _, code := rawGet(t, hs, "127.0.0.2", "/")
	assert.Equal(t, 200, code, "another address still gets a stream")
	assert.Equal(t, 21, s.Stats().Clients)

	// The total cap too.
	_, hs2 := newTestServer(t, Options{Anonymous: true, MaxClients: 3})
	for range 3 {
		_, _, code := rawGet(t, hs2, "127.0.0.3", "/")
		require.Equal(t, 200, code)
	}
	_, resp, code := rawGet(t, hs2, "127.0.0.4", "/")
	require.Equal(t, 503, code)
	body, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(body), "the most this server allows")
}

// A client cut right after its snapshot, before any event, resumes from the
// snapshot instead of skipping what was reported while it reconnected.
func TestResumeAfterSnapshotOnly(t *testing.T) {
	for range 5 {
		s, hs := newTestServer(t, Options{})
		c, err := Dial(context.Background(), hs.URL, creds, Filter{}, WithBackoff(time.Millisecond, time.Millisecond))
		require.NoError(t, err)
		m := next(t, c)
		require.NotNil(t, m.Snapshot)
		require.Zero(t, m.Snapshot.Seq)
		hs.CloseClientConnections()
		for i := 1; i <= 3; i++ {
			report(t, s, builderEvent("linux", i))
		}
		for want := uint64(1); want <= 3; want++ {
			m := next(t, c)
			require.NotNil(t, m.Event, "got a snapshot again: the client did not resume")
			require.Equal(t, want, m.Event.Seq)
		}
		assert.Zero(t, c.Stats().Gaps)
		c.Close()
	}
}

// Basic credentials are throttled per address, counted before checking.
func TestStreamThrottle(t *testing.T) {
	_, hs := newTestServer(t, Options{})
	for range 10 {
		r := get(t, hs.URL, basic(user, "guess"))
		require.Equal(t, 401, r.StatusCode)
		r.Body.Close()
	}
	r := get(t, hs.URL, basic(user, password))
	assert.Equal(t, http.StatusTooManyRequests, r.StatusCode, "the right password is not even checked now")
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
}
