package push

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
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

// Options configures a Pusher. Exactly one of URL (HttpStatusPush: POST the
// batches to a receiver) or Sink (StatusPush: hand them to a func) is set.
// Zero values take the defaults of Buildbot's StatusPush and HttpStatusPush.
//
// What Buildbot configured on StatusPush and Herald does elsewhere: the
// queue (bufferDelay, retryDelay, maxMemoryItems, maxDiskItems, path) is the
// Hub's: add the Pusher with status.WithOutbox (package outbox) for a queue
// that survives crashes, status.WithRetry for the waits between attempts;
// the Hub hands over whatever is queued, up to ChunkSize events, whenever the
// Pusher is free. Which builders and tags are pushed is status.WithMatch's
// (status.Builders, status.Tags), as for every target.
type Options struct {
	// URL is the receiver the batches are POSTed to (HttpStatusPush), an
	// absolute http:// or https:// URL without credentials (put them in
	// Authorization). A 2xx response acknowledges the batch; 413 splits it;
	// 408, 425, 429, 5xx and connection errors are status.Retryable
	// (honouring Retry-After); any other status drops the batch with an
	// error log, so a poison batch cannot block the queue.
	URL string
	// Sink receives the batches instead (StatusPush with your own
	// transport). Set URL or Sink, not both.
	Sink Sink
	// Name names the Pusher in logs and Hub stats (default "push", or
	// "push <host>" with URL).
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
	// JSON array for a Sink, the request body for URL. A batch beyond it
	// goes in several requests; a single packet beyond it is dropped and
	// counted.
	MaxRequestBytes int
	// KeepEmpty keeps empty values (null, "", false, [], {}, zero times) in
	// payloads; by default they are filtered out, as Buildbot's filter=True.
	KeepEmpty bool

	// The fields below configure the requests to URL; with a Sink they
	// must stay zero.

	// Format is the request body (default Form, Buildbot's).
	Format Format
	// ExtraPostParams are added to every Form request (Buildbot's
	// extra_post_params), e.g. a receiver's key.
	ExtraPostParams url.Values
	// Authorization, when set, is sent as the Authorization header
	// ("Bearer xyz", "Basic ..."); it never appears in logs or errors.
	Authorization status.Secret
	// Header holds further request headers.
	Header http.Header
	// TLS configures HTTPS (a private CA, client certificates). Ignored
	// when Client is set.
	TLS *tls.Config
	// Client sends the requests (default: a client with TLS and Timeout).
	Client *http.Client
	// Timeout bounds one request (default 30s); a timeout is retried.
	Timeout time.Duration
	// UserAgent defaults to "herald-push".
	UserAgent string

	// Logger receives refusals and splits, with a reporter attribute
	// naming the Pusher. Default: the logger of the Hub the Pusher is added
	// to (see status.Logging; it names reporters itself), and
	// slog.Default() until then.
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
	switch {
	case o.URL == "" && o.Sink == nil:
		errs = append(errs, errors.New("push: Options.URL and Options.Sink are both unset: set URL to the receiver's address (e.g. http://host:9000/submit), or Sink to the func that receives batches"))
	case o.URL != "" && o.Sink != nil:
		errs = append(errs, errors.New("push: Options.URL and Options.Sink are both set: keep URL to POST the batches, or Sink to receive them yourself"))
	case o.URL != "":
		errs = append(errs, validateURL(o.URL)...)
	default: // Sink: the request fields would be ignored
		if set := o.httpFieldsSet(); len(set) > 0 {
			errs = append(errs, fmt.Errorf("push: Options.%s only configure requests to Options.URL: leave them zero with a Sink",
				strings.Join(set, ", Options.")))
		}
	}
	if o.Format != Form && o.Format != JSON {
		errs = append(errs, fmt.Errorf("push: Options.Format %d is unknown: use push.Form or push.JSON", int(o.Format)))
	}
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("push: Options.Timeout is negative (%v): use 0 for the default 30s", o.Timeout))
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

func validateURL(s string) []error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return []error{fmt.Errorf("push: Options.URL: %w", err)}
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return []error{fmt.Errorf("push: Options.URL %q: want an absolute http:// or https:// URL", s)}
	case u.User != nil:
		return []error{errors.New("push: Options.URL carries credentials: put them in Options.Authorization instead")}
	}
	return nil
}

// httpFieldsSet names the request fields that are not zero.
func (o *Options) httpFieldsSet() []string {
	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"Format", o.Format != Form},
		{"ExtraPostParams", len(o.ExtraPostParams) > 0},
		{"Authorization", !o.Authorization.IsZero()},
		{"Header", len(o.Header) > 0},
		{"TLS", o.TLS != nil},
		{"Client", o.Client != nil},
		{"Timeout", o.Timeout != 0},
		{"UserAgent", o.UserAgent != ""},
	} {
		if f.set {
			set = append(set, f.name)
		}
	}
	return set
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
	if o.Now == nil {
		o.Now = time.Now
	}
}
