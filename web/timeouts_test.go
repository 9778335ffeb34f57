package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// hangGuard bounds how long a test waits for the server to act; it is far
// above every timeout the tests set and only fires when a limit is missing.
const hangGuard = 60 * time.Second

// listenLoopback serves s on a loopback port the kernel picks and returns
// the address; the server is closed when the test ends.
func listenLoopback(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		assert.NoError(t, s.Close(ctx))
		assert.ErrorIs(t, <-served, http.ErrServerClosed)
	})
	return ln.Addr().String()
}

// waitClosed reads from c until the server closes it, and fails the test if
// the server sends anything more or does not close within the hang guard.
func waitClosed(c net.Conn, br *bufio.Reader) error {
	c.SetReadDeadline(time.Now().Add(hangGuard))
	b, err := br.ReadByte()
	switch {
	case err == nil:
		return fmt.Errorf("server sent %q instead of closing", b)
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return nil
	case errors.Is(err, syscallReset):
		return nil
	}
	return fmt.Errorf("waiting for the server to close: %w", err)
}

// Two thousand clients make a request each and then keep their
// connections open without a second one: the server closes every one of
// them once they have been idle for Timeouts.Idle.
func TestIdleConnectionsClosed(t *testing.T) {
	s := newServer(t, statustest.NewHistory(), Options{Timeouts: Timeouts{Idle: 200 * time.Millisecond}})
	addr := listenLoopback(t, s)

	const conns = 2000
	errs := make(chan error, conns)
	sem := make(chan struct{}, 200) // dial 200 at a time: the listen backlog is finite
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			<-sem
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(hangGuard))
			fmt.Fprintf(c, "GET /robots.txt HTTP/1.1\r\nHost: ci.test\r\nUser-Agent: idle-%d\r\n\r\n", i)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				errs <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Close {
				errs <- fmt.Errorf("status %d, close %v: want a kept-alive 200", resp.StatusCode, resp.Close)
				return
			}
			errs <- waitClosed(c, br)
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if failed++; failed <= 5 {
				t.Error(err)
			}
		}
	}
	assert.Zero(t, failed, "connections not closed after the idle timeout")
}

// A client that sends headers and then trickles (here: withholds) its body
// is cut off after Timeouts.Read: the handler's read fails and the
// connection is closed.
func TestSlowBodyCut(t *testing.T) {
	bodyErr := make(chan error, 1)
	upload := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		bodyErr <- err
	})
	s := newServer(t, statustest.NewHistory(), Options{
		Timeouts: Timeouts{Read: 300 * time.Millisecond},
		Handlers: map[string]http.Handler{"/upload": upload},
	})
	addr := listenLoopback(t, s)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprint(c, "POST /upload HTTP/1.1\r\nHost: ci.test\r\nContent-Length: 10485760\r\n\r\nfirst bytes")

	select {
	case err := <-bodyErr:
		var ne net.Error
		require.ErrorAs(t, err, &ne, "the handler's read must fail")
		assert.True(t, ne.Timeout(), "want a timeout, got %v", err)
	case <-time.After(hangGuard):
		t.Fatal("the body read was never cut")
	}
	// The server may answer what it has before it hangs up.
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(hangGuard))
	if resp, err := http.ReadResponse(br, nil); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	require.NoError(t, waitClosed(c, br))
}

// Headers sent a byte at a time and never finished (slowloris) are cut
// after Timeouts.ReadHeader.
func TestSlowHeadersCut(t *testing.T) {
	s := newServer(t, statustest.NewHistory(), Options{Timeouts: Timeouts{ReadHeader: 200 * time.Millisecond}})
	addr := listenLoopback(t, s)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: ci.test\r\nX-Slow: ")
	require.NoError(t, waitClosed(c, bufio.NewReader(c)))
}

// The live stream outlives the read and write timeouts: its read deadline
// is lifted and each write has its own deadline, so an event published
// after both have passed still arrives.
func TestStreamOutlivesTimeouts(t *testing.T) {
	const limit = 100 * time.Millisecond
	s := newServer(t, statustest.NewHistory(), Options{Timeouts: Timeouts{Read: limit, Write: limit}})
	addr := listenLoopback(t, s)
	resp, err := http.Get("http://" + addr + "/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	br := bufio.NewReader(resp.Body)
	_, err = br.ReadString('\n') // the stream has started
	require.NoError(t, err)

	// Not a synchronisation: the scenario is "later than both deadlines".
	time.Sleep(3 * limit)
	b := statustest.NewBuild("late").Number(1).Started(time.Now()).Build()
	require.NoError(t, s.Report(context.Background(), status.Event{Kind: status.BuildStarted, Time: b.Started, Build: b}))
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err, "the stream was cut")
		if len(line) > 5 && line[:5] == "data:" {
			assert.Contains(t, line, "late")
			return
		}
	}
}

// Apply fills defaults and turns negative fields into "no limit".
func TestTimeoutsApply(t *testing.T) {
	var srv http.Server
	Timeouts{Read: -1, Idle: time.Second}.Apply(&srv)
	assert.Equal(t, defaultReadHeaderTimeout, srv.ReadHeaderTimeout)
	assert.Zero(t, srv.ReadTimeout)
	assert.Equal(t, defaultWriteTimeout, srv.WriteTimeout)
	assert.Equal(t, time.Second, srv.IdleTimeout)
}

var syscallReset = syscall.ECONNRESET
