package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldci/herald/internal/wire"
	"github.com/heraldci/herald/status"
)

// Credentials log a client in with HTTP Basic auth; zero for anonymous.
type Credentials struct {
	User     string
	Password status.Secret
}

// Message is what a client receives: a snapshot of the builders' state (on
// connect, and after a reconnect that could not resume), or an event.
type Message struct {
	Snapshot *Snapshot     // set for a snapshot
	Event    *status.Event // set for an event; Event.Seq is its stream id
}

// ErrUnauthorized is returned by Dial, and by Client.Err when a reconnect
// is refused, when the server does not accept the credentials.
var ErrUnauthorized = errors.New("stream: the server refused the credentials (401)")

// DialOption tunes Dial.
type DialOption func(*dialConfig)

type dialConfig struct {
	client                 *http.Client
	buffer                 int
	minBackoff, maxBackoff time.Duration
}

// WithHTTPClient sets the HTTP client (TLS settings, proxies). It must not
// have a Timeout: streams are long.
func WithHTTPClient(c *http.Client) DialOption { return func(d *dialConfig) { d.client = c } }

// WithBuffer sets the capacity of the Messages channel (default 256).
func WithBuffer(n int) DialOption { return func(d *dialConfig) { d.buffer = max(n, 0) } }

// WithBackoff sets the reconnect waits: min doubling up to max (default
// 100ms to 30s).
func WithBackoff(minWait, maxWait time.Duration) DialOption {
	return func(d *dialConfig) { d.minBackoff, d.maxBackoff = minWait, max(minWait, maxWait) }
}

// Client is a connection to a stream Server that reconnects on its own,
// resuming after the last event it delivered.
type Client struct {
	url   string
	creds Credentials
	cfg   dialConfig

	msgs   chan Message
	cancel context.CancelFunc
	done   chan struct{}

	lastSeq atomic.Uint64
	// started is set once a message was delivered: from then on every
	// reconnect resumes, even from 0 (a snapshot as of no event).
	started    atomic.Bool
	resumed    bool // the last connect sent Last-Event-ID
	reconnects atomic.Uint64
	gaps       atomic.Uint64
	errMu      sync.Mutex
	err        error
}

// Dial connects to the stream at rawURL with creds, selecting events with
// f, and returns once the server has accepted the subscription (or with
// ErrUnauthorized or the connection error). Messages arrive on
// Client.Messages until ctx ends, Close is called, or the server refuses a
// reconnect; a dropped connection is retried with backoff and resumes
// with Last-Event-ID.
func Dial(ctx context.Context, rawURL string, creds Credentials, f Filter, opts ...DialOption) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("stream: Dial %q: want an http:// or https:// URL", rawURL)
	}
	q := u.Query()
	for k, vs := range f.Query() {
		q[k] = vs
	}
	q.Set("format", "sse")
	u.RawQuery = q.Encode()
	cfg := dialConfig{client: &http.Client{}, buffer: 256, minBackoff: 100 * time.Millisecond, maxBackoff: 30 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Client{url: u.String(), creds: creds, cfg: cfg, msgs: make(chan Message, cfg.buffer), cancel: cancel, done: make(chan struct{})}
	body, err := c.connect(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	go c.run(ctx, body)
	return c, nil
}

// Messages returns the channel of snapshots and events, in stream order.
// It is closed when the client stops; Err then says why.
func (c *Client) Messages() <-chan Message { return c.msgs }

// Err returns why the client stopped: nil while running or after Close,
// ErrUnauthorized, or the context's error.
func (c *Client) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// ClientStats counts a client's reconnects.
type ClientStats struct {
	LastSeq    uint64 // the id of the last event delivered
	Reconnects uint64 // connections made after the first
	// Gaps counts reconnects where the server could not resume (the events
	// missed had left its replay buffer) and sent a snapshot instead.
	Gaps uint64
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	return ClientStats{LastSeq: c.lastSeq.Load(), Reconnects: c.reconnects.Load(), Gaps: c.gaps.Load()}
}

// Close stops the client and waits until its goroutine has returned.
func (c *Client) Close() error {
	c.cancel()
	<-c.done
	return nil
}

func (c *Client) connect(ctx context.Context) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.creds.User != "" {
		req.SetBasicAuth(c.creds.User, c.creds.Password.Reveal())
	}
	c.resumed = false
	if c.started.Load() {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(c.lastSeq.Load(), 10))
		c.resumed = true
	}
	resp, err := c.cfg.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("stream: connect: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		resp.Body.Close()
		return nil, ErrUnauthorized
	case resp.StatusCode != http.StatusOK:
		err := status.ClassifyResponse(resp)
		resp.Body.Close()
		return nil, fmt.Errorf("stream: connect: %w", err)
	}
	return resp.Body, nil
}

func (c *Client) run(ctx context.Context, body io.ReadCloser) {
	defer close(c.done)
	defer close(c.msgs)
	wait := c.cfg.minBackoff
	for {
		_ = c.read(ctx, body) // returns when the connection drops: reconnect
		body.Close()
		if ctx.Err() != nil {
			c.stop(ctx.Err())
			return
		}
		for {
			var err error
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				c.stop(ctx.Err())
				return
			}
			wait = min(2*wait, c.cfg.maxBackoff)
			c.reconnects.Add(1)
			body, err = c.connect(ctx)
			if err == nil {
				wait = c.cfg.minBackoff
				break
			}
			if errors.Is(err, ErrUnauthorized) {
				c.stop(err)
				return
			}
			if ctx.Err() != nil {
				c.stop(ctx.Err())
				return
			}
		}
	}
}

// stop records why the client stopped (not for Close).
func (c *Client) stop(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	c.errMu.Lock()
	c.err = err
	c.errMu.Unlock()
}

// read delivers the messages of one connection until it ends.
func (c *Client) read(ctx context.Context, body io.Reader) error {
	r := newSSEReader(body)
	first := true
	for {
		ev, err := r.next()
		if err != nil {
			return err
		}
		m, seq, err := decodeMessage(ev)
		if err != nil {
			return err // a corrupt stream: reconnect and resume
		}
		if m == nil {
			continue
		}
		if m.Snapshot != nil && first && c.resumed {
			c.gaps.Add(1)
		}
		first = false
		if m.Event != nil && seq <= c.lastSeq.Load() {
			continue // already delivered
		}
		// Recorded before the hand-over, so Stats agrees with what the
		// receiver has seen; if ctx ends instead, the client is done anyway.
		c.lastSeq.Store(max(seq, c.lastSeq.Load()))
		c.started.Store(true)
		select {
		case c.msgs <- *m:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// decodeMessage turns an SSE event into a Message; nil for events the
// client does not know.
func decodeMessage(ev sseEvent) (*Message, uint64, error) {
	if len(ev.data) == 0 {
		return nil, 0, nil
	}
	var seq uint64
	if ev.hasID {
		n, err := strconv.ParseUint(ev.id, 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("stream: bad event id %q", ev.id)
		}
		seq = n
	}
	if ev.event == "snapshot" {
		var sn Snapshot
		if err := json.Unmarshal(ev.data, &sn); err != nil {
			return nil, 0, fmt.Errorf("stream: bad snapshot: %w", err)
		}
		return &Message{Snapshot: &sn}, sn.Seq, nil
	}
	if _, err := status.ParseKind(ev.event); err != nil {
		return nil, 0, nil // a newer server's event type
	}
	e, err := wire.Unmarshal(ev.data)
	if err != nil {
		return nil, 0, fmt.Errorf("stream: bad %s event: %w", ev.event, err)
	}
	if seq == 0 {
		seq = e.Seq
	}
	return &Message{Event: &e}, seq, nil
}
