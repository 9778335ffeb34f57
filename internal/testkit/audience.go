package testkit

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Listener is a stream client as a browser or a PBListener would be: one
// TCP connection with a GET for an endless response, opened from a chosen
// loopback address. The audience benchmarks of package stream and web
// (/stream, /events) open a thousand of them.
type Listener struct {
	conn net.Conn
	br   *bufio.Reader
	// Got counts the lines read that start with the prefix given to Count.
	Got atomic.Int64
}

// Listen opens n streams of GET path on addr (host:port), the i-th from
// the loopback address source(i) (127.x.y.z: Linux routes all of 127/8
// to lo, so per-address caps can be met without raising them), and reads
// each response's head, which must be 200. The streams are idle: nothing
// reads them until Count.
func Listen(tb testing.TB, addr, path string, n int, source func(i int) string) []*Listener {
	tb.Helper()
	ls := make([]*Listener, 0, n)
	for i := range n {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source(i))}}
		conn, err := d.Dial("tcp", addr)
		if err != nil {
			tb.Fatalf("stream %d of %d from %s: %v", i+1, n, source(i), err)
		}
		tb.Cleanup(func() { conn.Close() })
		if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: herald\r\nAccept: text/event-stream\r\n\r\n", path); err != nil {
			tb.Fatalf("stream %d: %v", i+1, err)
		}
		br := bufio.NewReaderSize(conn, 4096)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			tb.Fatalf("stream %d of %d from %s: %v", i+1, n, source(i), err)
		}
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("stream %d of %d from %s: %s", i+1, n, source(i), resp.Status)
		}
		ls = append(ls, &Listener{conn: conn, br: br})
	}
	return ls
}

// Count reads every listener's stream in its own goroutine until the
// connection ends, counting lines that start with prefix. (Listen asks in
// HTTP/1.0, so the body comes unchunked and every line is whole.) Wait for the goroutines with the WaitGroup
// after closing the connections (Close).
func Count(ls []*Listener, prefix string) *sync.WaitGroup {
	var wg sync.WaitGroup
	p := []byte(prefix)
	for _, l := range ls {
		wg.Go(func() {
			for {
				line, err := l.br.ReadSlice('\n')
				if err != nil && err != bufio.ErrBufferFull {
					return
				}
				if bytes.HasPrefix(line, p) {
					l.Got.Add(1)
				}
			}
		})
	}
	return &wg
}

// Close closes every listener's connection.
func Close(ls []*Listener) {
	for _, l := range ls {
		l.conn.Close()
	}
}

// Memory is the process's live heap, goroutine stacks and resident set
// after a collection that returned freed memory to the system.
type Memory struct {
	Heap, Stack, RSS int64 // bytes
}

// ReadMemory collects garbage and reads runtime.MemStats and VmRSS from
// /proc/self/status (0 where there is no /proc).
func ReadMemory() Memory {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := Memory{Heap: int64(ms.HeapAlloc), Stack: int64(ms.StackInuse)}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				m.RSS = kb << 10
			}
		}
	}
	return m
}

// Offer calls publish(i) for i = 1..n at rate calls per second, on a
// schedule: when a call runs late the next ones catch up, so the offered
// rate holds on average. It returns how long the n calls took.
func Offer(n, rate int, publish func(i int)) time.Duration {
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	i := 0
	for i < n {
		due := min(n, int(time.Since(start).Seconds()*float64(rate))+1)
		for ; i < due; i++ {
			publish(i + 1)
		}
		if i < n {
			<-tick.C
		}
	}
	return time.Since(start)
}
