package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldci/herald/internal/wire"
	"github.com/heraldci/herald/status"
)

// SubscribeOptions configures a durable subscription.
type SubscribeOptions struct {
	Stream string // default "HERALD"
	Prefix string // default "herald"
	// Partitions is the number of streams of the bus, as in
	// StreamOptions.Partitions (default 1): the subscription consumes
	// every one, each in its order, into the one Hub.
	Partitions int
	// Durable names the consumer; a restarted subscriber with the same name
	// resumes after the last event it acknowledged. Required.
	Durable string
	// Kinds and Builders narrow the subjects consumed (default: all).
	Kinds    []status.Kind
	Builders []string
	// Flush, if set, is called before a batch of events is acknowledged:
	// pass the front end's History flush (store.Memory's Flush) so that an
	// event is acknowledged only once it is on disk, and a front end killed
	// and restarted loses nothing.
	Flush func(ctx context.Context) error
	// AckBatch is how many events are acknowledged at once (default 256);
	// AckDelay bounds how long an event waits for its acknowledgement
	// (default 100ms).
	AckBatch int
	AckDelay time.Duration
	// AckWait is how long the server waits for an acknowledgement before
	// redelivering (default 30s).
	AckWait time.Duration
	// MaxAckPending bounds the events in flight (default 4096).
	MaxAckPending int
	Logger        *slog.Logger
}

// SubscriptionStats counts what a subscription did.
type SubscriptionStats struct {
	Published  uint64 // events handed to the Hub
	Duplicates uint64 // redelivered events skipped (already published)
	Malformed  uint64 // messages that were not Herald events (skipped)
	Acked      uint64 // acknowledgements sent (each covers a batch)
	FlushFails uint64 // Flush errors (the batch is left unacknowledged and comes again)
	Restarts   uint64 // consumers made anew after a message went missing
}

// Subscription feeds the bus into a Hub until Close: one consumer per
// stream (see StreamOptions.Partitions).
type Subscription struct {
	parts []*partSub
}

// partSub feeds one stream into the Hub.
type partSub struct {
	hub      status.Publisher
	log      *slog.Logger
	flush    func(context.Context) error
	ackBatch int
	ackDelay time.Duration
	js       jetstream.JetStream
	stream   string
	cfg      jetstream.ConsumerConfig // as asked, before resuming
	pull     int                      // messages per pull request

	cc jetstream.ConsumeContext // only the acker goroutine replaces it
	// resumeAt is where a consumer deleted to be made anew resumes, kept
	// until it is made (start runs on one goroutine at a time).
	resumeAt uint64

	mu      sync.Mutex // guards the fields below; orders Publish
	next    uint64     // the consumer sequence the next message must have
	broken  bool       // a message went missing: nothing more is taken until a restart
	pending int
	last    jetstream.Msg // the newest message not yet acknowledged
	recent  *recentSet    // shared by the partitions: an ID is unique on the bus
	handled uint64        // stream sequence of the newest message handled
	moved   chan struct{} // closed and replaced when handled grows

	kick chan struct{}
	gap  chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once

	published, duplicates, malformed, acked, flushFails, restarts atomic.Uint64
}

// Subscribe creates (or resumes) the durable consumer o.Durable on the
// stream and publishes every event to hub (a front end's status.Hub, whose
// History and reporters then see it), in stream order: the Hub does the
// fan-out, queueing and retries. Events keep the ID their master's Hub gave
// them; a redelivered event already published is skipped.
//
// Events are acknowledged in batches (the consumer acknowledges all up to
// the newest), after o.Flush if given. Delivery is at least once: an event
// published to the Hub whose batch was not acknowledged before the process
// died comes again after a restart, when the set of recent IDs that skips
// duplicates has been lost with the process.
//
// Acknowledging a batch acknowledges everything before it, so the
// subscription never acknowledges past a message it did not get: it checks
// that the consumer's delivery sequence has no gap (a message sent to a
// predecessor that died, or lost with a connection), and when a consumer
// has messages delivered but not acknowledged, at Subscribe or after a
// gap, it makes the consumer anew from its acknowledgement floor, so that
// those messages come again, in stream order, before anything newer.
func Subscribe(ctx context.Context, js jetstream.JetStream, o SubscribeOptions, hub status.Publisher) (*Subscription, error) {
	var errs []error
	if js == nil {
		errs = append(errs, errors.New("bus: Subscribe: nil JetStream: pass jetstream.New(nc)"))
	}
	if hub == nil {
		errs = append(errs, errors.New("bus: Subscribe: nil Hub"))
	}
	if o.Durable == "" {
		errs = append(errs, errors.New("bus: SubscribeOptions.Durable is empty: name the consumer so a restart resumes from its position"))
	}
	if err := checkPartitions("SubscribeOptions.Partitions", o.Partitions); err != nil {
		errs = append(errs, err)
	}
	if strings.ContainsAny(o.Durable, ".*> \t") {
		errs = append(errs, fmt.Errorf("bus: SubscribeOptions.Durable %q may not contain '.', '*', '>' or spaces", o.Durable))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if o.Stream == "" {
		o.Stream = "HERALD"
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.AckBatch <= 0 {
		o.AckBatch = 256
	}
	if o.AckDelay <= 0 {
		o.AckDelay = 100 * time.Millisecond
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.MaxAckPending <= 0 {
		o.MaxAckPending = 4096
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	sub := &Subscription{}
	recent := newRecentSet(max(100000, 4*o.MaxAckPending))
	for _, p := range partitions(o.Stream, o.Prefix, o.Partitions) {
		s := &partSub{
			hub:      hub,
			log:      o.Logger.With("stream", p.stream, "consumer", o.Durable),
			flush:    o.Flush,
			ackBatch: o.AckBatch,
			ackDelay: o.AckDelay,
			js:       js,
			stream:   p.stream,
			cfg: jetstream.ConsumerConfig{
				Durable:        o.Durable,
				AckPolicy:      jetstream.AckAllPolicy,
				AckWait:        o.AckWait,
				MaxAckPending:  o.MaxAckPending,
				DeliverPolicy:  jetstream.DeliverAllPolicy,
				MaxDeliver:     -1,
				FilterSubjects: filterSubjects(p.prefix, o.Kinds, o.Builders),
			},
			pull:   min(o.MaxAckPending, 1000),
			recent: recent,
			moved:  make(chan struct{}),
			kick:   make(chan struct{}, 1),
			gap:    make(chan struct{}, 1),
			stop:   make(chan struct{}),
			done:   make(chan struct{}),
		}
		if err := s.start(ctx); err != nil {
			// The streams started before hand over what they took, and stop.
			_ = sub.Close(ctx)
			return nil, err
		}
		go s.acker()
		sub.parts = append(sub.parts, s)
	}
	return sub, nil
}

// Sync returns once every event the bus held for this subscription when
// Sync was called has been handed to the Hub, or when ctx ends: a front
// end's readiness check after a restart, or a tool waiting until a front
// end has seen what the masters published. It asks the server for the
// last message of each stream and waits for the consumers to get there.
func (sub *Subscription) Sync(ctx context.Context) error {
	for _, s := range sub.parts {
		if err := s.sync(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Stats returns the subscription's counters, summed over its streams.
func (sub *Subscription) Stats() SubscriptionStats {
	var t SubscriptionStats
	for _, s := range sub.parts {
		st := s.stats()
		t.Published += st.Published
		t.Duplicates += st.Duplicates
		t.Malformed += st.Malformed
		t.Acked += st.Acked
		t.FlushFails += st.FlushFails
		t.Restarts += st.Restarts
	}
	return t
}

// Close stops consuming, acknowledges what was published (after Flush), and
// returns; events not acknowledged are redelivered to the next subscriber
// with the same durable name. It is idempotent and honours ctx.
func (sub *Subscription) Close(ctx context.Context) error {
	var errs []error
	for _, s := range sub.parts {
		errs = append(errs, s.close(ctx))
	}
	return errors.Join(errs...)
}

// start makes or resumes the consumer and consumes from it. A consumer
// with messages delivered and not acknowledged is made anew from its
// acknowledgement floor.
func (s *partSub) start(ctx context.Context) error {
	cfg := s.cfg
	var acked uint64 // the stream sequence acknowledged before: handled by an earlier run
	if cons, err := s.js.Consumer(ctx, s.stream, cfg.Durable); err == nil {
		info := cons.CachedInfo()
		acked = info.AckFloor.Stream
		cfg.DeliverPolicy, cfg.OptStartSeq = info.Config.DeliverPolicy, info.Config.OptStartSeq // fixed at creation
		if info.NumAckPending > 0 || info.Delivered.Consumer != info.AckFloor.Consumer {
			s.log.Info("bus: consumer has unacknowledged messages; resuming from its acknowledgement floor",
				"pending", info.NumAckPending, "floor", info.AckFloor.Stream)
			if err := s.js.DeleteConsumer(ctx, s.stream, cfg.Durable); err != nil {
				return fmt.Errorf("bus: consumer %s on stream %s: reset: %w", cfg.Durable, s.stream, err)
			}
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverAllPolicy, 0
			if info.AckFloor.Stream > 0 {
				cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, info.AckFloor.Stream+1
				s.resumeAt = info.AckFloor.Stream + 1
			}
		}
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("bus: consumer %s on stream %s: %w", cfg.Durable, s.stream, err)
	} else if s.resumeAt > 0 { // deleted by a start that could not make it anew: not from the beginning
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, s.resumeAt
		acked = s.resumeAt - 1
	}
	cons, err := s.js.CreateOrUpdateConsumer(ctx, s.stream, cfg)
	if err != nil {
		return fmt.Errorf("bus: consumer %s on stream %s: %w", cfg.Durable, s.stream, err)
	}
	s.resumeAt = 0
	s.mu.Lock()
	info := cons.CachedInfo()
	s.next, s.broken = info.Delivered.Consumer+1, false
	s.handled = max(s.handled, acked)
	s.mu.Unlock()
	s.cc, err = cons.Consume(s.handle, jetstream.PullMaxMessages(s.pull),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			s.log.Debug("bus: consume", "err", err)
		}))
	if err != nil {
		return fmt.Errorf("bus: consume %s: %w", cfg.Durable, err)
	}
	return nil
}

func filterSubjects(prefix string, kinds []status.Kind, builders []string) []string {
	ks, bs := []string{"*"}, []string{"*"}
	if len(kinds) > 0 {
		ks = ks[:0]
		for _, k := range kinds {
			ks = append(ks, k.String())
		}
	}
	if len(builders) > 0 {
		bs = bs[:0]
		for _, b := range builders {
			bs = append(bs, escapeToken(b))
		}
	}
	if len(kinds) == 0 && len(builders) == 0 {
		return []string{prefix + ".>"}
	}
	var out []string
	for _, k := range ks {
		for _, b := range bs {
			out = append(out, prefix+"."+k+"."+b)
		}
	}
	return out
}

// handle runs on the consume goroutine, in stream order.
func (s *partSub) handle(m jetstream.Msg) {
	meta, err := m.Metadata()
	if err != nil {
		s.malformed.Add(1)
		s.log.Warn("bus: not a JetStream message, skipped", "subject", m.Subject(), "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return // the restart delivers it again
	}
	if meta.Sequence.Consumer != s.next {
		s.broken = true
		s.log.Warn("bus: a message went missing; restarting from the last acknowledged one",
			"want", s.next, "got", meta.Sequence.Consumer)
		select {
		case s.gap <- struct{}{}:
		default:
		}
		return
	}
	s.next++
	e, err := wire.Unmarshal(m.Data())
	switch {
	case err != nil:
		s.malformed.Add(1)
		s.log.Warn("bus: not a Herald event, skipped", "subject", m.Subject(), "err", err)
	case e.ID != "" && s.recent.has(e.ID):
		s.duplicates.Add(1)
	default:
		s.hub.Publish(e)
		s.published.Add(1)
		if e.ID != "" {
			s.recent.add(e.ID)
		}
	}
	s.last = m
	s.pending++
	s.handled = meta.Sequence.Stream
	close(s.moved)
	s.moved = make(chan struct{})
	if s.pending >= s.ackBatch {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// acker acknowledges what was published, in batches, after Flush.
func (s *partSub) acker() {
	defer close(s.done)
	t := time.NewTicker(s.ackDelay)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.kick:
		case <-s.gap:
			s.restart()
		case <-s.stop:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			s.stopConsuming(ctx)
			cancel()
			s.ackNow()
			return
		}
		s.ackNow()
	}
}

// restart stops consuming, acknowledges what came before a gap, and
// consumes again from the acknowledgement floor, until it succeeds or the
// subscription is closed.
func (s *partSub) restart() {
	s.stopConsuming(context.Background())
	s.ackNow()
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.start(ctx)
		cancel()
		if err == nil {
			s.restarts.Add(1)
			return
		}
		s.log.Error("bus: restarting the consumer failed; trying again", "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.stop:
			t.Stop()
			return
		}
	}
}

func (s *partSub) stopConsuming(ctx context.Context) {
	s.cc.Stop()
	select {
	case <-s.cc.Closed():
	case <-ctx.Done():
	}
}

func (s *partSub) ackNow() {
	s.mu.Lock()
	m, n := s.last, s.pending
	s.mu.Unlock()
	if m == nil {
		return
	}
	if s.flush != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.flush(ctx)
		cancel()
		if err != nil {
			s.flushFails.Add(1)
			s.log.Error("bus: flush before acknowledging failed; the events will come again", "events", n, "err", err)
			return
		}
	}
	if err := m.Ack(); err != nil {
		s.log.Debug("bus: ack", "err", err)
		return
	}
	s.acked.Add(1)
	s.mu.Lock()
	if s.last == m {
		s.last, s.pending = nil, 0
	} else {
		s.pending -= n
	}
	s.mu.Unlock()
}

// sync waits until this stream's consumer has handed the Hub every event
// the stream held when it was called (see Subscription.Sync): it asks the
// server for the last message of each subject it consumes — the
// consumer's own count of pending messages trails the stream right after
// a publish — and waits for the consumer to get that far.
func (s *partSub) sync(ctx context.Context) error {
	st, err := s.js.Stream(ctx, s.stream)
	if err != nil {
		return fmt.Errorf("bus: sync %s: %w", s.stream, err)
	}
	var target uint64
	for _, f := range s.cfg.FilterSubjects {
		m, err := st.GetLastMsgForSubject(ctx, f)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("bus: sync %s: last message of %s: %w", s.stream, f, err)
		}
		target = max(target, m.Sequence)
	}
	for {
		s.mu.Lock()
		handled, moved := s.handled, s.moved
		s.mu.Unlock()
		if handled >= target {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("bus: sync %s: at %d of %d: %w", s.stream, handled, target, ctx.Err())
		}
	}
}

func (s *partSub) stats() SubscriptionStats {
	return SubscriptionStats{
		Published:  s.published.Load(),
		Duplicates: s.duplicates.Load(),
		Malformed:  s.malformed.Load(),
		Acked:      s.acked.Load(),
		FlushFails: s.flushFails.Load(),
		Restarts:   s.restarts.Load(),
	}
}

// close stops consuming this stream and acknowledges what was published;
// idempotent.
func (s *partSub) close(ctx context.Context) error {
	s.once.Do(func() { close(s.stop) })
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recentSet remembers the last n event IDs published, like JetStream's own
// duplicate window: a redelivered event whose acknowledgement was lost is
// skipped. The partitions of a subscription share one.
type recentSet struct {
	mu   sync.Mutex
	ids  map[string]struct{}
	ring []string
	next int
}

func newRecentSet(n int) *recentSet {
	return &recentSet{ids: make(map[string]struct{}, n), ring: make([]string, n)}
}

func (r *recentSet) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.ids[id]
	return ok
}

func (r *recentSet) add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.ring[r.next]; old != "" {
		delete(r.ids, old)
	}
	r.ring[r.next] = id
	r.ids[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
}
