package auth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// ErrThrottled is returned by Throttle.Authenticate when the client's
// address has failed too often; the password was not checked.
var ErrThrottled = errors.New("auth: too many failed logins from this address: try again in a few minutes")

// Throttle limits password guesses per client address: at most Max
// attempts that did not succeed in a Window. An attempt is counted before
// the password is checked, so guesses sent in parallel are counted as they
// start, not as they fail; a success takes back only its own count, so one
// user logging in does not clear the failures of others from the same
// address. Refused attempts are answered at once, without sleeping. The
// table of addresses is bounded. Safe for concurrent use; one Throttle may
// be shared by several servers, so that guesses are counted across them.
type Throttle struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	addrs map[string]*attempts
}

type attempts struct {
	n     int
	since time.Time
}

// throttleTable bounds the addresses remembered.
const throttleTable = 10_000

// NewThrottle returns a Throttle allowing max attempts that did not succeed
// per address in window. max <= 0 means 10, window <= 0 ten minutes.
func NewThrottle(max int, window time.Duration) *Throttle {
	if max <= 0 {
		max = 10
	}
	if window <= 0 {
		window = 10 * time.Minute
	}
	return &Throttle{max: max, window: window, now: time.Now, addrs: map[string]*attempts{}}
}

// Window returns the period over which failures are counted: how long a
// refused client should wait (for a Retry-After header).
func (t *Throttle) Window() time.Duration { return t.window }

// Authenticate checks user and password with a for the client at addr
// (see ClientAddr), or returns ErrThrottled without checking.
func (t *Throttle) Authenticate(ctx context.Context, a Authenticator, addr, user, password string) error {
	w, err := t.begin(addr)
	if err != nil {
		return err
	}
	err = a.Authenticate(ctx, user, password)
	if err == nil {
		t.mu.Lock()
		if t.addrs[addr] == w && w.n > 0 {
			w.n--
		}
		t.mu.Unlock()
	}
	return err
}

// begin counts an attempt from addr, or refuses it.
func (t *Throttle) begin(addr string) (*attempts, error) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.addrs[addr]
	if w == nil || now.Sub(w.since) >= t.window {
		if w == nil && len(t.addrs) >= throttleTable {
			t.evict(now)
		}
		w = &attempts{since: now}
		t.addrs[addr] = w
	}
	if w.n >= t.max {
		return nil, ErrThrottled
	}
	w.n++
	return w, nil
}

// evict forgets expired windows, or else the oldest one.
func (t *Throttle) evict(now time.Time) {
	var oldest string
	for a, w := range t.addrs {
		if now.Sub(w.since) >= t.window {
			delete(t.addrs, a)
		} else if oldest == "" || w.since.Before(t.addrs[oldest].since) {
			oldest = a
		}
	}
	if len(t.addrs) >= throttleTable {
		delete(t.addrs, oldest)
	}
}

// ClientAddr returns the address a request comes from, as Throttle and the
// servers' per-client caps count it: the IP without the port, and for IPv6
// its /64 network (one host usually holds a whole /64).
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
