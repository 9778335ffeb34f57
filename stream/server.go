package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldci/herald/status"
)

// Options configures a Server.
type Options struct {
	// Users maps user names to passwords for HTTP Basic auth (PBListener's
	// user and passwd).
	Users map[string]status.Secret
	// Authenticate, when set, decides instead of Users (an LDAP bind, a
	// token check). It must be safe for concurrent use.
	Authenticate func(user, password string) bool
	// Anonymous lets clients without credentials in. Without Users,
	// Authenticate or Anonymous, NewServer refuses: a stream shows builds
	// and properties, so being open must be a decision.
	Anonymous bool
	// History, when set, is where a new client's snapshot comes from (the
	// builders and their latest builds); otherwise the Server's own view,
	// built from the events it has seen. The own view is exact as of the
	// snapshot's Seq; History is read just after the client subscribed, so
	// it may already include some of the events that follow.
	History status.History

	// Replay is how many recent events a reconnecting client can resume
	// from (default 10,000).
	Replay int
	// ClientBuffer is how many events may wait for one client (default
	// 1,024); a client that falls further behind is disconnected.
	ClientBuffer int
	// KeepAlive is the interval of keep-alive comments on idle streams
	// (default 15s), so proxies keep the connection.
	KeepAlive time.Duration
	// Realm is the Basic auth realm (default "herald").
	Realm string
	// Logger receives connects, disconnects and cut clients. Default:
	// slog.Default().
	Logger *slog.Logger
}

// Server streams events to clients. It is a status.Reporter, a status.Closer
// and an http.Handler; all methods are safe for concurrent use. Report never
// waits for a client.
type Server struct {
	o   Options
	log *slog.Logger

	mu       sync.Mutex
	seq      uint64
	ring     []*entry // the last Replay events, oldest at head
	head, n  int
	subs     map[*sub]struct{}
	builders map[string]*status.Builder // the server's own view
	builds   map[string]*status.Build   // latest build per builder
	closed   bool

	done     chan struct{} // closed by Close: every handler returns
	handlers sync.WaitGroup

	events, connected, refused, cut, replayed atomic.Uint64
}

var (
	_ status.Reporter = (*Server)(nil)
	_ status.Closer   = (*Server)(nil)
	_ status.Named    = (*Server)(nil)
)

// entry is one event, encoded once for every client.
type entry struct {
	seq  uint64
	ev   status.Event
	json []byte
}

// sub is one connected client.
type sub struct {
	match  status.Match
	ch     chan *entry
	cut    chan struct{} // closed when the client fell behind
	remote string
}

// NewServer validates o and returns a Server.
func NewServer(o Options) (*Server, error) {
	if len(o.Users) == 0 && o.Authenticate == nil && !o.Anonymous {
		return nil, errors.New("stream: no Options.Users or Options.Authenticate: set one, or Anonymous: true for an open stream")
	}
	for u, pw := range o.Users {
		if u == "" || pw.IsZero() {
			return nil, fmt.Errorf("stream: Options.Users has an empty user name or password (user %q): set both", u)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"Replay", o.Replay}, {"ClientBuffer", o.ClientBuffer}} {
		if n.v < 0 {
			return nil, fmt.Errorf("stream: Options.%s is negative (%d): use 0 for the default", n.name, n.v)
		}
	}
	if o.KeepAlive < 0 {
		return nil, fmt.Errorf("stream: Options.KeepAlive is negative (%v): use 0 for the default", o.KeepAlive)
	}
	if o.Replay == 0 {
		o.Replay = 10_000
	}
	if o.ClientBuffer == 0 {
		o.ClientBuffer = 1024
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = 15 * time.Second
	}
	if o.Realm == "" {
		o.Realm = "herald"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{
		o: o, log: o.Logger.With("reporter", "stream"),
		ring:     make([]*entry, o.Replay),
		subs:     map[*sub]struct{}{},
		builders: map[string]*status.Builder{},
		builds:   map[string]*status.Build{},
		done:     make(chan struct{}),
	}
	return s, nil
}

// Name returns "stream".
func (s *Server) Name() string { return "stream" }

// Report numbers e (its Seq, or the next number when Seq does not
// increase), keeps it for replay and hands it to every matching client
// without waiting: a client whose buffer is full is disconnected.
func (s *Server) Report(ctx context.Context, e status.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stream: report %v: %w", e.Kind, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if e.Seq <= s.seq {
		e.Seq = s.seq + 1
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("stream: encode %v event: %w", e.Kind, err)
	}
	s.seq = e.Seq
	en := &entry{seq: e.Seq, ev: e, json: b}
	s.ring[(s.head+s.n)%len(s.ring)] = en
	if s.n < len(s.ring) {
		s.n++
	} else {
		s.head = (s.head + 1) % len(s.ring)
	}
	s.track(&e)
	s.events.Add(1)
	for c := range s.subs {
		if !c.match(e) {
			continue
		}
		select {
		case c.ch <- en:
		default:
			s.cutLocked(c)
		}
	}
	return nil
}

// cutLocked disconnects a client that fell behind.
func (s *Server) cutLocked(c *sub) {
	delete(s.subs, c)
	close(c.cut)
	n := s.cut.Add(1)
	s.log.Warn("stream: client too slow, disconnected; it may reconnect and resume",
		"remote", c.remote, "buffer", s.o.ClientBuffer, "cut_total", n)
}

// track keeps the server's own view of builders for snapshots.
func (s *Server) track(e *status.Event) {
	switch e.Kind {
	case status.BuilderAdded, status.BuilderChanged:
		if e.Builder != nil {
			b := *e.Builder
			s.builders[b.Name] = &b
		}
	case status.BuilderRemoved:
		if e.Builder != nil {
			delete(s.builders, e.Builder.Name)
			delete(s.builds, e.Builder.Name)
		}
	case status.BuildStarted, status.BuildFinished:
		if e.Build == nil {
			return
		}
		s.builds[e.Build.Builder] = e.Build
		if _, ok := s.builders[e.Build.Builder]; !ok {
			s.builders[e.Build.Builder] = &status.Builder{Name: e.Build.Builder, Tags: e.Build.Tags}
		}
	}
}

// Snapshot is the state a client starts from: every builder (that its
// filter selects) and the latest build of each, as of event Seq.
type Snapshot struct {
	Seq      uint64           `json:"seq"`
	Builders []status.Builder `json:"builders"`
	Builds   []*status.Build  `json:"builds,omitempty"`
}

// ownSnapshot returns the server's view; s.mu must be held.
func (s *Server) ownSnapshot(f Filter) *Snapshot {
	sn := &Snapshot{Seq: s.seq, Builders: []status.Builder{}}
	for _, b := range s.builders {
		if f.builder(b) {
			sn.Builders = append(sn.Builders, *b)
			if bd := s.builds[b.Name]; bd != nil {
				sn.Builds = append(sn.Builds, bd)
			}
		}
	}
	sort.Slice(sn.Builders, func(i, j int) bool { return sn.Builders[i].Name < sn.Builders[j].Name })
	sort.Slice(sn.Builds, func(i, j int) bool { return sn.Builds[i].Builder < sn.Builds[j].Builder })
	return sn
}

// historySnapshot asks History; seq is the event it is meant to follow.
func (s *Server) historySnapshot(ctx context.Context, f Filter, seq uint64) (*Snapshot, error) {
	bs, err := s.o.History.Builders(ctx)
	if err != nil {
		return nil, err
	}
	sn := &Snapshot{Seq: seq, Builders: []status.Builder{}}
	for _, b := range bs {
		if !f.builder(&b) {
			continue
		}
		sn.Builders = append(sn.Builders, b)
		last, err := s.o.History.Builds(ctx, status.BuildQuery{Builders: []string{b.Name}, Limit: 1})
		if err != nil {
			return nil, err
		}
		sn.Builds = append(sn.Builds, last...)
	}
	return sn, nil
}

// subscribe registers a client and returns the events after since it
// missed; resumed is false when since is unknown or no longer in the
// replay buffer, and snap is then the state to start from (the own view;
// nil when History provides it).
func (s *Server) subscribe(c *sub, since uint64, resume bool, f Filter) (missed []*entry, resumed bool, snap *Snapshot, seq uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, nil, 0, errClosed
	}
	oldest := s.seq + 1 // the first seq a resume can start from
	if s.n > 0 {
		oldest = s.ring[s.head].seq
	}
	if resume && since <= s.seq && since+1 >= oldest {
		resumed = true
		for i := range s.n {
			en := s.ring[(s.head+i)%len(s.ring)]
			if en.seq > since && c.match(en.ev) {
				missed = append(missed, en)
			}
		}
	} else if s.o.History == nil {
		snap = s.ownSnapshot(f)
	}
	s.subs[c] = struct{}{}
	s.handlers.Add(1)
	s.connected.Add(1)
	return missed, resumed, snap, s.seq, nil
}

var errClosed = errors.New("stream: server is closed")

func (s *Server) unsubscribe(c *sub) {
	s.mu.Lock()
	delete(s.subs, c)
	s.mu.Unlock()
	s.handlers.Done()
}

// Stats counts what the Server did.
type Stats struct {
	Clients   int    // connected now
	Connected uint64 // connections accepted
	Refused   uint64 // requests refused for missing or wrong credentials
	Cut       uint64 // clients disconnected for falling behind
	Events    uint64 // events reported
	Replayed  uint64 // events sent to resuming clients from the replay buffer
}

// Stats returns the Server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.subs)
	s.mu.Unlock()
	return Stats{Clients: n, Connected: s.connected.Load(), Refused: s.refused.Load(),
		Cut: s.cut.Load(), Events: s.events.Load(), Replayed: s.replayed.Load()}
}

// Close ends every stream and waits for their handlers to return, or for
// ctx. Events reported after Close are ignored.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	waited := make(chan struct{})
	go func() { s.handlers.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stream: Close: %w", ctx.Err())
	}
}
