package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldci/herald/internal/wire"
	"github.com/heraldci/herald/status"
)

// PublisherOptions configures a Publisher.
type PublisherOptions struct {
	// JetStream is the connection's JetStream context (jetstream.New(nc)).
	// Connect with nats.MaxReconnects(-1), so the connection outlives
	// server restarts (the Hub retries publishes meanwhile), and with
	// nats.ReconnectBufSize(-1), so that nothing is published behind the
	// Hub's back: a connection that buffers publishes while reconnecting
	// sends the tail of a failed batch on reconnection, ahead of the
	// retried batch, and the stream would hold a master's events out of
	// order. NewPublisher refuses such a connection.
	JetStream jetstream.JetStream
	// Prefix is the subject prefix (default "herald"); the stream must
	// capture prefix.> (see EnsureStream).
	Prefix string
	// Partitions is the number of streams of the bus, as in
	// StreamOptions.Partitions (default 1).
	Partitions int
	// Master names this master in events that do not name one (the Hub
	// sets it from HubOptions.Master).
	Master string
	// Kinds limits which events are published (default: all). Log chunks
	// (LogAppended) are often left to the master's own History.
	Kinds []status.Kind
	// MaxBatch is how many events one ReportBatch publishes before waiting
	// for their acknowledgements: the window of publishes in flight
	// (default 1024). A larger window wakes the publisher less often per
	// event (see BENCHMARKS.md); keep it under the JetStream context's
	// jetstream.WithPublishAsyncMaxPending (4000 unless set), past which
	// a publish waits for acknowledgements before it is sent.
	MaxBatch int
}

// Publisher is a status.Reporter that publishes events to JetStream, one
// message per event in the wire form of internal/wire, with the event's ID
// as the message ID so that the server drops an event published twice (a
// retry after a lost acknowledgement, or a redelivery from an outbox).
//
// It takes batches (status.BatchReporter): the Hub hands it up to MaxBatch
// waiting events, which it publishes asynchronously, in order, on one
// connection (so each subject keeps its order), and then waits for every
// acknowledgement; after a failure the Hub publishes again from the first
// event not acknowledged, and the server's de-duplication drops any that
// had arrived all the same.
type Publisher struct {
	js       jetstream.JetStream
	parts    []partition
	master   string
	kinds    status.KindSet
	maxBatch int
}

var (
	_ status.BatchReporter = (*Publisher)(nil)
	_ status.Selective     = (*Publisher)(nil)
)

// NewPublisher validates o and returns a Publisher.
func NewPublisher(o PublisherOptions) (*Publisher, error) {
	var errs []error
	if o.JetStream == nil {
		errs = append(errs, errors.New("bus: PublisherOptions.JetStream is nil: pass jetstream.New(nc)"))
	} else if nc := o.JetStream.Conn(); nc != nil && nc.Opts.ReconnectBufSize >= 0 {
		errs = append(errs, errors.New("bus: PublisherOptions.JetStream's connection buffers publishes while reconnecting, which reorders a retried batch: connect with nats.ReconnectBufSize(-1)"))
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if !validPrefix(o.Prefix) {
		errs = append(errs, fmt.Errorf("bus: PublisherOptions.Prefix %q is not a valid subject prefix", o.Prefix))
	}
	if err := checkPartitions("PublisherOptions.Partitions", o.Partitions); err != nil {
		errs = append(errs, err)
	}
	if o.MaxBatch < 0 {
		errs = append(errs, fmt.Errorf("bus: PublisherOptions.MaxBatch %d is negative", o.MaxBatch))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p := &Publisher{js: o.JetStream, parts: partitions("", o.Prefix, o.Partitions), master: o.Master, kinds: status.KindsOf(status.AllKinds()...), maxBatch: o.MaxBatch}
	if len(o.Kinds) > 0 {
		p.kinds = status.KindsOf(o.Kinds...)
	}
	if p.maxBatch == 0 {
		p.maxBatch = 1024
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

// Handles reports whether k is published (PublisherOptions.Kinds).
func (p *Publisher) Handles(k status.Kind) bool { return p.kinds.Has(k) }

// MaxBatch is PublisherOptions.MaxBatch.
func (p *Publisher) MaxBatch() int { return p.maxBatch }

// Report publishes e and waits for the stream's acknowledgement.
func (p *Publisher) Report(ctx context.Context, e status.Event) error {
	return p.ReportBatch(ctx, []status.Event{e})
}

// ReportBatch publishes events in order and waits for every
// acknowledgement. Connection loss, timeouts and a missing stream leader are
// Retryable; when some events were acknowledged before the failure, the
// error is a *status.BatchError saying so, and the Hub publishes only the
// rest again.
func (p *Publisher) ReportBatch(ctx context.Context, events []status.Event) error {
	futures := make([]jetstream.PubAckFuture, 0, len(events))
	at := make([]int, 0, len(events)) // index in events of each future's event
	for i := range events {
		e := &events[i]
		if !p.kinds.Has(e.Kind) {
			continue
		}
		if e.Master == "" {
			e.Master = p.master
		}
		data, err := wire.Marshal(*e)
		if err != nil {
			return fmt.Errorf("bus: encode %v event: %w", e.Kind, err)
		}
		prefix := p.parts[partitionOf(e, len(p.parts))].prefix
		msg := &nats.Msg{Subject: Subject(prefix, e), Data: data}
		f, err := p.js.PublishMsgAsync(msg, jetstream.WithMsgID(msgID(e)))
		if err != nil {
			return p.fail(ctx, msg.Subject, err)
		}
		futures = append(futures, f)
		at = append(at, i)
	}
	for j, f := range futures {
		var err error
		select {
		case <-f.Ok():
			continue
		case perr := <-f.Err():
			err = p.fail(ctx, f.Msg().Subject, perr)
		case <-ctx.Done():
			err = fmt.Errorf("bus: waiting for acknowledgements: %w", ctx.Err())
		}
		if at[j] == 0 {
			return err
		}
		return &status.BatchError{Settled: at[j], Err: err} // the events before were acknowledged
	}
	return nil
}

func (p *Publisher) fail(ctx context.Context, subject string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("bus: publish %s: %w", subject, ctx.Err())
	}
	return classify(fmt.Errorf("bus: publish %s: %w", subject, err))
}

// msgID is the event's ID, or for an event that never went through a Hub,
// its master and sequence.
func msgID(e *status.Event) string {
	if e.ID != "" {
		return e.ID
	}
	return e.Master + "-" + strconv.FormatUint(e.Seq, 10)
}

// classify marks the failures that pass once the server is back.
func classify(err error) error {
	switch {
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining):
		return err // this connection will not come back: retrying cannot help
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrReconnectBufExceeded),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrTooManyStalledMsgs), errors.Is(err, jetstream.ErrAsyncPublishTimeout),
		errors.Is(err, nats.ErrSlowConsumer):
		return status.Retryable(err, 0)
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.Code >= 500 {
		return status.Retryable(err, 0) // no leader, cluster unavailable
	}
	return status.ClassifyNetError(err)
}
