package web

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// loginThrottle refuses logins from an address after too many failures in
// a window, so passwords cannot be guessed at line speed. It never sleeps:
// a throttled attempt is answered at once with 429. The table is bounded.
type loginThrottle struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	fails map[string]*failures
}

type failures struct {
	n     int
	since time.Time
}

// throttleTable bounds the addresses remembered; past it the oldest
// windows are forgotten first (by clearing expired ones, then everything).
const throttleTable = 10000

func newLoginThrottle(max int, window time.Duration) *loginThrottle {
	return &loginThrottle{max: max, window: window, fails: map[string]*failures{}}
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allowed reports whether addr may try to log in now.
func (l *loginThrottle) allowed(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[addr]
	if f == nil || now.Sub(f.since) >= l.window {
		return true
	}
	return f.n < l.max
}

// record counts a failed (ok false) or successful attempt.
func (l *loginThrottle) record(addr string, ok bool, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ok {
		delete(l.fails, addr)
		return
	}
	f := l.fails[addr]
	if f == nil || now.Sub(f.since) >= l.window {
		if len(l.fails) >= throttleTable {
			for a, x := range l.fails {
				if now.Sub(x.since) >= l.window {
					delete(l.fails, a)
				}
			}
			if len(l.fails) >= throttleTable {
				clear(l.fails)
			}
		}
		f = &failures{since: now}
		l.fails[addr] = f
	}
	f.n++
}
