// Package sse is Herald's one Server-Sent Events broadcaster, behind both
// the web status's live updates (/events) and package stream (/stream).
//
// A Broadcaster numbers messages with one sequence, keeps the last Replay
// of them for clients that reconnect with Last-Event-ID, and offers each to
// every connected client's bounded buffer without waiting. What happens to
// a client whose buffer is full is the Slow policy: Cut disconnects it (it
// may reconnect and resume), Resync drops the messages it cannot take and
// tells it once, before the next one, that it missed some. Every write to
// a client has a deadline (WriteTimeout), so a client that stops reading
// is released, and open streams are capped in total and per client address
// (a 503 with the reason beyond either).
//
// The framing (SSE, NDJSON, what a resync or a snapshot looks like) is the
// caller's: a Framer writes it.
package sse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldci/herald/auth"
)

// Policy is what happens to a client that falls behind.
type Policy int

const (
	// Cut disconnects the client, after a notice; it may reconnect and
	// resume with Last-Event-ID.
	Cut Policy = iota
	// Resync drops what the client cannot take and sends it a resync
	// notice before the next message it gets.
	Resync
)

// Options configure a Broadcaster; zero values take the defaults.
type Options struct {
	Name       string        // prefix of logs and 503 messages, e.g. "stream"
	Slow       Policy        // default Cut
	Buffer     int           // messages queued per client (default 256)
	Replay     int           // messages kept for resuming clients (default 1,024)
	KeepAlive  time.Duration // idle interval before a keep-alive (default 15s)
	MaxClients int           // open streams in all (default 1,000)
	MaxPerAddr int           // open streams per client address (default 32)
	// WriteTimeout bounds each write to a client (default 10s): a client
	// that does not read for that long is disconnected.
	WriteTimeout time.Duration
	Logger       *slog.Logger
}

func (o *Options) defaults() {
	if o.Buffer <= 0 {
		o.Buffer = 256
	}
	if o.Replay <= 0 {
		o.Replay = 1024
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 15 * time.Second
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 1000
	}
	if o.MaxPerAddr <= 0 {
		o.MaxPerAddr = 32
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Name == "" {
		o.Name = "sse"
	}
}

// Framer writes one client's stream. Its methods are called from the
// client's handler only, never concurrently, and write to w; write errors
// surface when w is flushed.
type Framer[M any] interface {
	// ContentType is the response's Content-Type.
	ContentType() string
	// Open writes what a client gets first, before any backlog.
	Open(ctx context.Context, w *bufio.Writer, s Start)
	// Message writes one message.
	Message(w *bufio.Writer, id uint64, m M)
	// KeepAlive writes a keep-alive on an idle stream.
	KeepAlive(w *bufio.Writer)
	// Notice tells the client it was cut, or missed messages (Resync).
	Notice(w *bufio.Writer, p Policy)
}

// Start is what a client subscribed to.
type Start struct {
	// Requested is true when the client asked to resume, and Resumed when
	// it can: the backlog that follows is exactly what it missed.
	Requested, Resumed bool
	// Seq is the last message id when the client subscribed: a snapshot
	// written by Open is as of Seq.
	Seq uint64
}

// Broadcaster fans messages of type M out to streaming clients. Safe for
// concurrent use; Publish never waits for a client.
type Broadcaster[M any] struct {
	o Options

	mu      sync.Mutex
	seq     uint64
	ring    []entry[M] // the last Replay messages, oldest at head
	head, n int
	clients map[*client[M]]struct{}
	perAddr map[string]int
	closed  bool
	done    chan struct{}
	serving sync.WaitGroup

	connected, refused, cut, dropped, replayed atomic.Uint64
}

type entry[M any] struct {
	id uint64
	m  M
}

type client[M any] struct {
	match  func(M) bool
	ch     chan entry[M]
	cut    chan struct{} // closed when the client fell behind (Cut)
	lagged atomic.Bool   // messages were dropped (Resync)
	addr   string
}

// New returns a Broadcaster.
func New[M any](o Options) *Broadcaster[M] {
	o.defaults()
	return &Broadcaster[M]{o: o, ring: make([]entry[M], o.Replay), clients: map[*client[M]]struct{}{},
		perAddr: map[string]int{}, done: make(chan struct{})}
}

// Seq returns the id of the last message published.
func (b *Broadcaster[M]) Seq() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

// Publish numbers a message (want, when it is above the last id, else the
// next id), builds it with make, keeps it for replay and offers it to every
// client whose filter takes it. make and the filters run under the
// Broadcaster's lock: they must be quick and must not call back. With the
// Broadcaster closed, Publish does nothing and returns 0.
func (b *Broadcaster[M]) Publish(want uint64, make func(id uint64) (M, error)) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, nil
	}
	id := max(want, b.seq+1)
	m, err := make(id)
	if err != nil {
		return 0, err
	}
	b.seq = id
	e := entry[M]{id: id, m: m}
	b.ring[(b.head+b.n)%len(b.ring)] = e
	if b.n < len(b.ring) {
		b.n++
	} else {
		b.head = (b.head + 1) % len(b.ring)
	}
	for c := range b.clients {
		if !c.match(m) {
			continue
		}
		select {
		case c.ch <- e:
		default:
			b.behind(c)
		}
	}
	return id, nil
}

// behind applies the slow-client policy; b.mu is held.
func (b *Broadcaster[M]) behind(c *client[M]) {
	if b.o.Slow == Resync {
		b.dropped.Add(1)
		if !c.lagged.Swap(true) {
			b.o.Logger.Warn(b.o.Name+": a client reads too slowly; dropping its messages and asking it to resynchronise",
				"addr", c.addr, "buffer", b.o.Buffer)
		}
		return
	}
	b.unregister(c)
	close(c.cut)
	n := b.cut.Add(1)
	b.o.Logger.Warn(b.o.Name+": client too slow, disconnected; it may reconnect and resume",
		"addr", c.addr, "buffer", b.o.Buffer, "cut_total", n)
}

// unregister forgets c; b.mu is held. Idempotent.
func (b *Broadcaster[M]) unregister(c *client[M]) {
	if _, ok := b.clients[c]; !ok {
		return
	}
	delete(b.clients, c)
	if b.perAddr[c.addr]--; b.perAddr[c.addr] <= 0 {
		delete(b.perAddr, c.addr)
	}
}

// Request is one client's subscription.
type Request[M any] struct {
	Match  func(M) bool // nil: every message
	Framer Framer[M]
	// Since and Resume: the client asks for the messages after Since
	// (from LastEventID).
	Since  uint64
	Resume bool
	// Subscribed, when set, is called under the Broadcaster's lock as the
	// client is registered, so what it reads of state kept by Publish's
	// make functions is exactly as of Start.Seq.
	Subscribed func(Start)
}

// Serve streams to one client until it leaves, falls behind (Cut), stops
// reading for WriteTimeout, or the Broadcaster closes. Beyond the caps, or
// once closed, it answers 503 with the reason and a Retry-After.
func (b *Broadcaster[M]) Serve(w http.ResponseWriter, r *http.Request, sr Request[M]) {
	c := &client[M]{match: sr.Match, ch: make(chan entry[M], b.o.Buffer), cut: make(chan struct{}), addr: auth.ClientAddr(r)}
	if c.match == nil {
		c.match = func(M) bool { return true }
	}
	backlog, start, err := b.subscribe(c, sr)
	if err != nil {
		w.Header().Set("Retry-After", "10")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer b.leave(c)

	h := w.Header()
	h.Set("Content-Type", sr.Framer.ContentType())
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	// A stream outlives any server ReadTimeout, and net/http cancels the
	// request's context when the read deadline passes: lift it. Writes get
	// their own deadlines below.
	_ = rc.SetReadDeadline(time.Time{})
	bw := bufio.NewWriterSize(w, 32<<10)
	flush := func() bool {
		// The deadline covers the whole flush: a client that does not
		// read is released after WriteTimeout, whatever the buffers hold.
		_ = rc.SetWriteDeadline(time.Now().Add(b.o.WriteTimeout))
		return bw.Flush() == nil && rc.Flush() == nil
	}
	f := sr.Framer
	f.Open(r.Context(), bw, start)
	for _, e := range backlog {
		f.Message(bw, e.id, e.m)
	}
	b.replayed.Add(uint64(len(backlog)))
	if !flush() {
		return
	}
	keep := time.NewTicker(b.o.KeepAlive)
	defer keep.Stop()
	for {
		select {
		case e := <-c.ch:
			b.write(c, bw, f, e)
		drain: // write what is waiting too, then flush once
			for {
				select {
				case e := <-c.ch:
					b.write(c, bw, f, e)
				default:
					break drain
				}
			}
		case <-keep.C:
			f.KeepAlive(bw)
		case <-c.cut:
			f.Notice(bw, Cut)
			flush()
			return
		case <-r.Context().Done():
			return
		case <-b.done:
			return
		}
		if !flush() {
			return
		}
	}
}

func (b *Broadcaster[M]) write(c *client[M], w *bufio.Writer, f Framer[M], e entry[M]) {
	if c.lagged.Swap(false) {
		f.Notice(w, Resync)
	}
	f.Message(w, e.id, e.m)
}

// ErrClosed and ErrTooMany are why Serve answers 503.
var (
	ErrClosed  = errors.New("the server is shutting down")
	ErrTooMany = errors.New("too many open streams")
)

func (b *Broadcaster[M]) subscribe(c *client[M], sr Request[M]) ([]entry[M], Start, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, Start{}, fmt.Errorf("%s: %w", b.o.Name, ErrClosed)
	case len(b.clients) >= b.o.MaxClients:
		b.refused.Add(1)
		return nil, Start{}, fmt.Errorf("%s: %w: %d are open, the most this server allows; try again later", b.o.Name, ErrTooMany, b.o.MaxClients)
	case b.perAddr[c.addr] >= b.o.MaxPerAddr:
		b.refused.Add(1)
		return nil, Start{}, fmt.Errorf("%s: %w from your address: %d are open, the most one address may hold; close some", b.o.Name, ErrTooMany, b.o.MaxPerAddr)
	}
	start := Start{Requested: sr.Resume, Seq: b.seq}
	oldest := b.seq + 1 // the first id a resume can start from
	if b.n > 0 {
		oldest = b.ring[b.head].id
	}
	var backlog []entry[M]
	if sr.Resume && sr.Since <= b.seq && sr.Since+1 >= oldest {
		start.Resumed = true
		for i := range b.n {
			e := b.ring[(b.head+i)%len(b.ring)]
			if e.id > sr.Since && c.match(e.m) {
				backlog = append(backlog, e)
			}
		}
	}
	if sr.Subscribed != nil {
		sr.Subscribed(start)
	}
	b.clients[c] = struct{}{}
	b.perAddr[c.addr]++
	b.serving.Add(1)
	b.connected.Add(1)
	return backlog, start, nil
}

func (b *Broadcaster[M]) leave(c *client[M]) {
	b.mu.Lock()
	b.unregister(c)
	b.mu.Unlock()
	b.serving.Done()
}

// Stats counts what a Broadcaster did.
type Stats struct {
	Clients   int    // streams open now
	Connected uint64 // streams accepted
	Refused   uint64 // streams refused by the caps
	Cut       uint64 // clients disconnected for falling behind (Cut)
	Dropped   uint64 // messages not given to a slow client (Resync)
	Replayed  uint64 // messages sent to resuming clients from the replay buffer
}

// Stats returns the counters.
func (b *Broadcaster[M]) Stats() Stats {
	b.mu.Lock()
	n := len(b.clients)
	b.mu.Unlock()
	return Stats{Clients: n, Connected: b.connected.Load(), Refused: b.refused.Load(),
		Cut: b.cut.Load(), Dropped: b.dropped.Load(), Replayed: b.replayed.Load()}
}

// Close ends every stream and waits for their handlers to return, or for
// ctx. Later Publish calls do nothing, later clients get 503. Idempotent.
func (b *Broadcaster[M]) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.done)
	}
	b.mu.Unlock()
	waited := make(chan struct{})
	go func() { b.serving.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: closing streams: %w", b.o.Name, ctx.Err())
	}
}

// LastEventID reads the id a reconnecting client sends: the Last-Event-ID
// header, or else the query argument param. ok is false when there is none;
// err says why a value is not an id.
func LastEventID(r *http.Request, param string) (id uint64, ok bool, err error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get(param)
	}
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("Last-Event-ID or %s= must be an event number, not %q", param, v)
	}
	return n, true, nil
}
