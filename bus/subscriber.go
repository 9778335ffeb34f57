package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldci/herald/status"
)

// SubscribeOptions configures a durable subscription.
type SubscribeOptions struct {
	Stream string // default "HERALD"
	Prefix string // default "herald"
	// Durable names the consumer; a restarted subscriber with the same name
	// resumes where the last one stopped. Required.
	Durable string
	// Kinds and Builders narrow the subjects consumed (default: all).
	Kinds    []status.Kind
	Builders []string
	// Workers is how many builders are served in parallel (default 8); the
	// events of one builder are always reported in order by one worker.
	Workers int
	// AckWait is how long the server waits for an ack before redelivering
	// (default 30s); a worker retrying a Retryable error keeps its message
	// alive meanwhile.
	AckWait time.Duration
	// MaxAckPending bounds the events in flight (default 1000).
	MaxAckPending int
	// Retry is the policy for Retryable errors of the reporter (default:
	// status.RetryPolicy's defaults).
	Retry  status.RetryPolicy
	Logger *slog.Logger
}

// SubscriptionStats counts what a subscription did.
type SubscriptionStats struct {
	Delivered  uint64 // events the reporter accepted
	Duplicates uint64 // redelivered events skipped (already delivered)
	Retried    uint64 // reporter calls repeated after a Retryable error
	Failed     uint64 // events the reporter rejected permanently (terminated)
	Malformed  uint64 // messages that were not Herald events (terminated)
}

// Subscription feeds a stream into a reporter until Close.
type Subscription struct {
	r       status.Reporter
	log     *slog.Logger
	policy  status.RetryPolicy
	ackWait time.Duration
	cc      jetstream.ConsumeContext
	queues  []chan jetstream.Msg
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once

	recent recentSet // events delivered lately, to skip redeliveries

	delivered, duplicates, retried, failed, malformed atomic.Uint64
}

// Subscribe creates (or resumes) the durable consumer o.Durable on the
// stream and reports every event to r: in order per builder, acked once r
// returned nil. Retryable errors are retried in place with backoff (the
// builder's later events wait), permanent errors terminate the message and
// are counted. To feed a local Hub, pass status.ReporterFunc(func(_ context.Context, e status.Event) error { hub.Publish(e); return nil }).
func Subscribe(ctx context.Context, js jetstream.JetStream, o SubscribeOptions, r status.Reporter) (*Subscription, error) {
	if js == nil {
		return nil, errors.New("bus: Subscribe: nil JetStream: pass jetstream.New(nc)")
	}
	if r == nil {
		return nil, errors.New("bus: Subscribe: nil reporter")
	}
	if o.Durable == "" {
		return nil, errors.New("bus: SubscribeOptions.Durable is empty: name the consumer so a restart resumes from its position")
	}
	if strings.ContainsAny(o.Durable, ".*> \t") {
		return nil, fmt.Errorf("bus: SubscribeOptions.Durable %q may not contain '.', '*', '>' or spaces", o.Durable)
	}
	if o.Stream == "" {
		o.Stream = "HERALD"
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.MaxAckPending <= 0 {
		o.MaxAckPending = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       o.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.AckWait,
		MaxAckPending: o.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxDeliver:    -1,
	}
	cfg.FilterSubjects = filterSubjects(o.Prefix, o.Kinds, o.Builders)
	cons, err := js.CreateOrUpdateConsumer(ctx, o.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s on stream %s: %w", o.Durable, o.Stream, err)
	}
	s := &Subscription{
		r:       r,
		log:     o.Logger.With("consumer", o.Durable),
		policy:  o.Retry,
		ackWait: o.AckWait,
		queues:  make([]chan jetstream.Msg, o.Workers),
		recent:  newRecentSet(max(100000, 4*o.MaxAckPending)),
	}
	// A predecessor that died left events unacked. Waiting out one AckWait
	// puts them all on the server's redelivery queue, which it serves
	// first and in stream order: so each builder's events stay in order
	// across the restart.
	// The margin covers events the server sent to the dead subscriber
	// before it noticed the disconnection.
	if info, err := cons.Info(ctx); err == nil && info.NumAckPending > 0 {
		s.log.Info("bus: resuming after unacked events; waiting one AckWait for their redelivery", "pending", info.NumAckPending, "wait", o.AckWait)
		t := time.NewTimer(o.AckWait + max(o.AckWait/2, time.Second))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for i := range s.queues {
		s.queues[i] = make(chan jetstream.Msg, 64)
		s.wg.Add(1)
		go s.work(s.queues[i])
	}
	s.cc, err = cons.Consume(s.dispatch, jetstream.PullMaxMessages(min(o.MaxAckPending, 500)),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			s.log.Debug("bus: consume", "err", err)
		}))
	if err != nil {
		s.stopWorkers()
		return nil, fmt.Errorf("bus: consume %s: %w", o.Durable, err)
	}
	return s, nil
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
			bs = append(bs, EscapeToken(b))
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

// dispatch runs on the consume goroutine, in stream order: it hands each
// message to the worker of its builder, so per-builder order is kept.
func (s *Subscription) dispatch(m jetstream.Msg) {
	q := s.queues[s.worker(m.Subject())]
	select {
	case q <- m:
	case <-s.ctx.Done(): // closing: the unacked message is redelivered later
	}
}

func (s *Subscription) worker(subject string) int {
	i := strings.LastIndexByte(subject, '.')
	h := fnv.New32a()
	_, _ = h.Write([]byte(subject[i+1:]))
	return int(h.Sum32() % uint32(len(s.queues)))
}

func (s *Subscription) work(q chan jetstream.Msg) {
	defer s.wg.Done()
	for {
		select {
		case m := <-q:
			s.handle(m)
		case <-s.ctx.Done():
			return
		}
	}
}

func (s *Subscription) handle(m jetstream.Msg) {
	var e status.Event
	if err := json.Unmarshal(m.Data(), &e); err != nil || e.Kind == 0 {
		s.malformed.Add(1)
		s.log.Warn("bus: not a Herald event, terminated", "subject", m.Subject(), "err", err)
		_ = m.Term()
		return
	}
	id := e.Master + "-" + m.Headers().Get(headerBoot) + "-" + strconv.FormatUint(e.Seq, 10)
	if e.Seq != 0 && s.recent.has(id) {
		s.duplicates.Add(1)
		_ = m.Ack()
		return
	}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		err := s.r.Report(s.ctx, e)
		if err == nil {
			break
		}
		if s.ctx.Err() != nil {
			return // closing: not acked, so redelivered to the next subscriber
		}
		after, retry := status.RetryAfter(err)
		if !retry {
			s.failed.Add(1)
			s.log.Error("bus: reporter failed, event terminated", "kind", e.Kind, "seq", e.Seq, "err", err)
			_ = m.Term()
			return
		}
		wait := after
		if wait <= 0 {
			wait = s.policy.Backoff(attempt)
		}
		if time.Since(start)+wait > s.policyMaxElapsed() {
			s.failed.Add(1)
			s.log.Error("bus: reporter kept failing, event terminated", "kind", e.Kind, "seq", e.Seq, "err", err)
			_ = m.Term()
			return
		}
		s.retried.Add(1)
		if !s.waitAlive(m, wait) {
			return
		}
	}
	if e.Seq != 0 {
		s.recent.add(id)
	}
	s.delivered.Add(1)
	if err := m.Ack(); err != nil {
		s.log.Debug("bus: ack", "err", err)
	}
}

func (s *Subscription) policyMaxElapsed() time.Duration {
	if s.policy.MaxElapsed > 0 {
		return s.policy.MaxElapsed
	}
	return time.Hour
}

// waitAlive waits d, telling the server every half AckWait that the message
// is still being worked on; false when the subscription closes.
func (s *Subscription) waitAlive(m jetstream.Msg, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(s.ackWait / 2)
	defer tick.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-tick.C:
			_ = m.InProgress()
		case <-s.ctx.Done():
			return false
		}
	}
}

// Stats returns the subscription's counters.
func (s *Subscription) Stats() SubscriptionStats {
	return SubscriptionStats{
		Delivered:  s.delivered.Load(),
		Duplicates: s.duplicates.Load(),
		Retried:    s.retried.Load(),
		Failed:     s.failed.Load(),
		Malformed:  s.malformed.Load(),
	}
}

// Close stops consuming and waits for the workers; events not yet acked are
// redelivered to the next subscriber with the same durable name. It is
// idempotent and honours ctx.
func (s *Subscription) Close(ctx context.Context) error {
	s.once.Do(func() {
		s.cc.Stop()
		s.stopWorkers()
	})
	select {
	case <-s.cc.Closed():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Subscription) stopWorkers() {
	s.cancel()
	s.wg.Wait()
}

// recentSet remembers the last n event IDs delivered, like JetStream's own
// duplicate window: a redelivered event whose ack was lost is skipped.
type recentSet struct {
	mu   sync.Mutex
	ids  map[string]struct{}
	ring []string
	next int
}

func newRecentSet(n int) recentSet {
	return recentSet{ids: make(map[string]struct{}, n), ring: make([]string, n)}
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
