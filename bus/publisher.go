package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/heraldci/herald/status"
)

// PublisherOptions configures a Publisher.
type PublisherOptions struct {
	// JetStream is the connection's JetStream context (jetstream.New(nc)).
	// Connect with nats.MaxReconnects(-1) so the connection outlives
	// server restarts; the Hub retries publishes meanwhile.
	JetStream jetstream.JetStream
	// Prefix is the subject prefix (default "herald"); the stream must
	// capture prefix.> (see EnsureStream).
	Prefix string
	// Master names this master in events that do not name one (the Hub
	// sets it from HubOptions.Master). Events from several masters share a
	// stream; the name keeps their message IDs apart.
	Master string
	// Kinds limits which events are published (default: all). Log chunks
	// (LogAppended) are often left to the master's own History.
	Kinds []status.Kind
}

// Publisher is a status.Reporter that publishes events to JetStream, one
// message per event, with the message ID <master>-<boot>-<seq> (boot is random per
// Publisher, so a restarted master's sequence numbers are new IDs) so that the server
// drops an event published twice (a retry after a lost acknowledgement).
type Publisher struct {
	boot   string // tells this publisher's sequence numbers from a restarted master's
	js     jetstream.JetStream
	prefix string
	master string
	kinds  status.Match
}

var _ status.Reporter = (*Publisher)(nil)

// NewPublisher validates o and returns a Publisher.
func NewPublisher(o PublisherOptions) (*Publisher, error) {
	if o.JetStream == nil {
		return nil, errors.New("bus: PublisherOptions.JetStream is nil: pass jetstream.New(nc)")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if !validPrefix(o.Prefix) {
		return nil, fmt.Errorf("bus: PublisherOptions.Prefix %q is not a valid subject prefix", o.Prefix)
	}
	p := &Publisher{js: o.JetStream, prefix: o.Prefix, master: o.Master, boot: nuid.Next()}
	if len(o.Kinds) > 0 {
		p.kinds = status.Kinds(o.Kinds...)
	}
	return p, nil
}

// validPrefix accepts dotted prefixes of plain tokens ("ci.herald").
func validPrefix(p string) bool {
	for _, c := range []byte(p) {
		if c == '*' || c == '>' || c <= ' ' {
			return false
		}
	}
	return p[0] != '.' && p[len(p)-1] != '.'
}

// Name names the reporter in Hub stats.
func (p *Publisher) Name() string { return "bus.Publisher" }

// Report publishes e and waits for the stream's acknowledgement. Connection
// loss, timeouts and a missing stream leader are Retryable.
func (p *Publisher) Report(ctx context.Context, e status.Event) error {
	if p.kinds != nil && !p.kinds(e) {
		return nil
	}
	if e.Master == "" {
		e.Master = p.master
	}
	data, err := json.Marshal(&e)
	if err != nil {
		return fmt.Errorf("bus: encode %v event: %w", e.Kind, err)
	}
	msg := &nats.Msg{Subject: Subject(p.prefix, &e), Data: data, Header: nats.Header{}}
	msg.Header.Set(headerMaster, e.Master)
	msg.Header.Set(headerBoot, p.boot)
	msg.Header.Set(headerSeq, strconv.FormatUint(e.Seq, 10))
	_, err = p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(e.Master+"-"+p.boot+"-"+strconv.FormatUint(e.Seq, 10)))
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("bus: publish %s: %w", msg.Subject, ctx.Err())
		}
		return classify(fmt.Errorf("bus: publish %s: %w", msg.Subject, err))
	}
	return nil
}

// Headers of every message, so consumers can route and de-duplicate
// without decoding the event.
const (
	headerMaster = "Herald-Master"
	headerBoot   = "Herald-Boot"
	headerSeq    = "Herald-Seq"
)

// classify marks the failures that pass once the server is back.
func classify(err error) error {
	switch {
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining):
		return err // this connection will not come back: retrying cannot help
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrSlowConsumer):
		return status.Retryable(err, 0)
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.Code >= 500 {
		return status.Retryable(err, 0) // no leader, cluster unavailable
	}
	return status.NetError(err)
}
