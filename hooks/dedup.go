package hooks

import (
	"container/list"
	"net/http"
	"sync"
	"time"
)

// Forges redeliver a payload when they time out or when a user clicks
// "Redeliver"; the delivery ID lets us acknowledge it without scheduling the
// same builds twice.
var deliveryHeaders = [...]string{
	"X-GitHub-Delivery",   // GitHub
	"X-Gitlab-Event-UUID", // GitLab
	"X-Request-UUID",      // Bitbucket Cloud
}

// deliveryID is the dialect-scoped delivery ID of a request, or "".
func deliveryID(dialect string, h http.Header) string {
	for _, name := range deliveryHeaders {
		if v := h.Get(name); v != "" {
			return dialect + "\x00" + v
		}
	}
	return ""
}

type seen int

const (
	seenNew seen = iota
	seenInFlight
	seenDone
)

// deliveries remembers delivery IDs for a window, bounded in size. Pruning
// happens on use, so there is no goroutine to stop.
type deliveries struct {
	window time.Duration
	size   int
	now    func() time.Time

	mu    sync.Mutex
	byKey map[string]*list.Element
	order list.List // of *delivery, oldest first
}

type delivery struct {
	key      string
	at       time.Time
	inFlight bool
}

func newDeliveries(window time.Duration, size int, now func() time.Time) *deliveries {
	return &deliveries{window: window, size: size, now: now, byKey: make(map[string]*list.Element)}
}

// claim reports whether key was seen; if not, it is recorded as in flight.
func (d *deliveries) claim(key string) seen {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.prune(now)
	if el, ok := d.byKey[key]; ok {
		if el.Value.(*delivery).inFlight {
			return seenInFlight
		}
		return seenDone
	}
	if d.order.Len() >= d.size {
		d.remove(d.order.Front())
	}
	d.byKey[key] = d.order.PushBack(&delivery{key: key, at: now, inFlight: true})
	return seenNew
}

// done marks key as processed.
func (d *deliveries) done(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if el, ok := d.byKey[key]; ok {
		el.Value.(*delivery).inFlight = false
	}
}

// release forgets key, so that a redelivery after a failure is processed.
func (d *deliveries) release(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if el, ok := d.byKey[key]; ok {
		d.remove(el)
	}
}

func (d *deliveries) prune(now time.Time) {
	for el := d.order.Front(); el != nil; el = d.order.Front() {
		if now.Sub(el.Value.(*delivery).at) < d.window {
			return
		}
		d.remove(el)
	}
}

func (d *deliveries) remove(el *list.Element) {
	delete(d.byKey, el.Value.(*delivery).key)
	d.order.Remove(el)
}
