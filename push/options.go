package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/heraldci/herald/status"
)

// Sink receives batches of packets, oldest first: StatusPush's serverPushCb.
// It returns nil when the receiver has them, status.Retryable for a
// transient failure (the same batch is offered again after a wait), an error
// wrapping ErrTooLarge when the batch must be split, or another error when
// the receiver refuses the batch for good (it is dropped, counted and
// logged, so one poison batch cannot block the queue). It must honour ctx
// and not keep batch. It is called from one goroutine at a time.
type Sink func(ctx context.Context, batch []Packet) error

// ErrTooLarge is wrapped by a Sink's error when the receiver found the batch
// too large (HTTP 413): the Pusher halves it, down to single packets; a
// single packet still too large is dropped.
var ErrTooLarge = errors.New("push: batch too large for the receiver")

// ErrClosed is returned by Report after Close.
var ErrClosed = errors.New("push: Pusher is closed")

// Options configures a Pusher. Zero values take the defaults of Buildbot's
// StatusPush and HttpStatusPush.
type Options struct {
	// Sink receives the batches. Required for New; HTTP sets it.
	Sink Sink
	// Name names the Pusher in logs and Hub stats (default "push").
	Name string
	// Project fills each packet's "project" (Buildbot: the master's title).
	Project string

	// BufferDelay is how long events gather before a batch is sent
	// (default 0.5s); a full batch is sent at once.
	BufferDelay time.Duration
	// RetryDelay is the first wait after a failed batch (default 5s); it
	// doubles with each failure in a row up to MaxRetryDelay (default 5m).
	// A status.Retryable error asking for a longer wait gets it.
	RetryDelay, MaxRetryDelay time.Duration
	// ChunkSize bounds the packets per batch (default 200).
	ChunkSize int
	// MaxRequestBytes bounds one serialized batch (default 1 MiB): the JSON
	// array for a Sink, the request body for HTTP. A single packet larger
	// than this is dropped and counted.
	MaxRequestBytes int

	// WhiteList, when set, sends only these events; BlackList never sends
	// these. Names are as EventName returns them ("buildFinished").
	WhiteList, BlackList []string
	// KeepEmpty keeps empty values (null, "", false, [], {}, zero times) in
	// payloads; by default they are filtered out, as Buildbot's filter=True.
	KeepEmpty bool

	// MaxMemoryItems bounds the packets queued in memory (default 10,000).
	MaxMemoryItems int
	// Dir, when set, holds the on-disk queue (a bbolt file, queue.db): packets
	// beyond MaxMemoryItems spill there, and Close saves everything still
	// queued, so a new Pusher on the same Dir sends it. Only one Pusher may
	// use a Dir at a time.
	Dir string
	// MaxDiskItems bounds the packets queued on disk (default 100,000).
	MaxDiskItems int

	// Logger receives drops, refusals and retries. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock for the "started" field (default time.Now).
	Now func() time.Time
}

func (o *Options) validate() error {
	if o.Sink == nil {
		return errors.New("push: Options.Sink is nil: set the func that receives batches, or use push.HTTP")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"BufferDelay", o.BufferDelay}, {"RetryDelay", o.RetryDelay}, {"MaxRetryDelay", o.MaxRetryDelay}} {
		if d.v < 0 {
			return fmt.Errorf("push: Options.%s is negative (%v): use 0 for the default", d.name, d.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"ChunkSize", o.ChunkSize}, {"MaxRequestBytes", o.MaxRequestBytes}, {"MaxMemoryItems", o.MaxMemoryItems}, {"MaxDiskItems", o.MaxDiskItems}} {
		if n.v < 0 {
			return fmt.Errorf("push: Options.%s is negative (%d): use 0 for the default", n.name, n.v)
		}
	}
	if o.MaxRetryDelay > 0 && o.RetryDelay > o.MaxRetryDelay {
		return fmt.Errorf("push: Options.RetryDelay (%v) exceeds MaxRetryDelay (%v): raise MaxRetryDelay", o.RetryDelay, o.MaxRetryDelay)
	}
	known := map[string]bool{}
	for _, k := range status.AllKinds() {
		known[EventName(k)] = true
	}
	for _, l := range []struct {
		name  string
		names []string
	}{{"WhiteList", o.WhiteList}, {"BlackList", o.BlackList}} {
		for _, n := range l.names {
			if !known[n] {
				return fmt.Errorf("push: Options.%s: unknown event %q: use names as push.EventName returns them, e.g. %q", l.name, n, "buildFinished")
			}
		}
	}
	return nil
}

func (o *Options) withDefaults() {
	if o.Name == "" {
		o.Name = "push"
	}
	if o.BufferDelay == 0 {
		o.BufferDelay = 500 * time.Millisecond
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = 5 * time.Second
	}
	if o.MaxRetryDelay == 0 {
		o.MaxRetryDelay = max(5*time.Minute, o.RetryDelay)
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = 200
	}
	if o.MaxRequestBytes == 0 {
		o.MaxRequestBytes = 1 << 20
	}
	if o.MaxMemoryItems == 0 {
		o.MaxMemoryItems = 10_000
	}
	if o.MaxDiskItems == 0 {
		o.MaxDiskItems = 100_000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.WhiteList = slices.Clone(o.WhiteList)
	o.BlackList = slices.Clone(o.BlackList)
}

// wanted reports whether packets for the event name are sent.
func (o *Options) wanted(event string) bool {
	if len(o.WhiteList) > 0 && !slices.Contains(o.WhiteList, event) {
		return false
	}
	return !slices.Contains(o.BlackList, event)
}
