package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/heraldci/herald/status"
)

// Sink receives batches of packets, oldest first: StatusPush's serverPushCb.
// It returns nil when the receiver has them, status.Retryable for a
// transient failure (the Hub offers the same events again after a wait), an
// error wrapping ErrTooLarge when the batch must be split, or another error
// when the receiver refuses the batch for good (it is dropped, counted and
// logged, so one poison batch cannot block the queue). It must honour ctx
// and not keep batch.
type Sink func(ctx context.Context, batch []Packet) error

// ErrTooLarge is wrapped by a Sink's error when the receiver found the batch
// too large (HTTP 413): the Pusher halves it, down to single packets; a
// single packet still too large is dropped.
var ErrTooLarge = errors.New("push: batch too large for the receiver")

// Options configures a Pusher. Zero values take the defaults of Buildbot's
// StatusPush and HttpStatusPush.
//
// What Buildbot configured on StatusPush and Herald does elsewhere: the
// queue (bufferDelay, retryDelay, maxMemoryItems, maxDiskItems, path) is the
// Hub's: add the Pusher with status.WithOutbox (package outbox) for a queue
// that survives crashes, status.WithRetry for the waits between attempts;
// the Hub hands over whatever is queued, up to ChunkSize events, whenever the
// Pusher is free. Which builders and tags are pushed is status.WithMatch's
// (status.Builders, status.Tags), as for every target.
type Options struct {
	// Sink receives the batches. Required for New; HTTP sets it.
	Sink Sink
	// Name names the Pusher in logs and Hub stats (default "push").
	Name string
	// Project fills each packet's "project" (Buildbot: the master's title).
	Project string

	// Kinds are the events pushed (default: every kind). They replace
	// Buildbot's wantedEvents white and black lists, named by Kind rather
	// than by packet event name, and the Hub queues nothing else for the
	// Pusher. Every kind but log chunks:
	//
	//	status.KindsOf(status.AllKinds()...) &^ status.KindsOf(status.LogAppended)
	Kinds status.KindSet
	// ChunkSize bounds the packets per request (default 200): the Hub's
	// batches for the Pusher (MaxBatch).
	ChunkSize int
	// MaxRequestBytes bounds one serialized request (default 1 MiB): the
	// JSON array for a Sink, the request body for HTTP. A batch beyond it
	// goes in several requests; a single packet beyond it is dropped and
	// counted.
	MaxRequestBytes int
	// KeepEmpty keeps empty values (null, "", false, [], {}, zero times) in
	// payloads; by default they are filtered out, as Buildbot's filter=True.
	KeepEmpty bool

	// Logger receives refusals and splits. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock for the "started" field, and for "timestamp" when
	// an event has no Time (default time.Now).
	Now func() time.Time
}

// allKinds is every valid kind.
var allKinds = status.KindsOf(status.AllKinds()...)

// validate reports every problem of o at once.
func (o *Options) validate() error {
	var errs []error
	if o.Sink == nil {
		errs = append(errs, errors.New("push: Options.Sink is nil: set the func that receives batches, or use push.HTTP"))
	}
	if o.ChunkSize < 0 {
		errs = append(errs, fmt.Errorf("push: Options.ChunkSize is negative (%d): use 0 for the default 200", o.ChunkSize))
	}
	if o.MaxRequestBytes < 0 {
		errs = append(errs, fmt.Errorf("push: Options.MaxRequestBytes is negative (%d): use 0 for the default 1 MiB", o.MaxRequestBytes))
	}
	if extra := o.Kinds &^ allKinds; extra != 0 {
		errs = append(errs, fmt.Errorf("push: Options.Kinds holds unknown kinds (bits %#x): build it with status.KindsOf", uint64(extra)))
	}
	return errors.Join(errs...)
}

func (o *Options) withDefaults() {
	if o.Name == "" {
		o.Name = "push"
	}
	if o.Kinds == 0 {
		o.Kinds = allKinds
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = 200
	}
	if o.MaxRequestBytes == 0 {
		o.MaxRequestBytes = 1 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}
