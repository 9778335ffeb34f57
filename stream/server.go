package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/internal/sse"
	"github.com/heraldci/herald/internal/wire"
	"github.com/heraldci/herald/status"
)

// Options configures a Server.
type Options struct {
	// Auth checks the clients' HTTP Basic credentials (PBListener's user
	// and passwd: auth.Users; an htpasswd file: auth.OpenHtpasswd; an LDAP
	// bind: auth.Func). Without Auth or Anonymous, New refuses: a
	// stream shows builds and properties, so being open must be a decision.
	Auth auth.Authenticator
	// Throttle limits failed logins per client address; share one with
	// the web status and the hooks to count guesses across them. Default:
	// 10 failures in 10 minutes.
	Throttle *auth.Throttle
	// Anonymous lets clients without credentials in.
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
	// WriteTimeout bounds each write to a client (default 10s): a client
	// that stops reading is disconnected after it.
	WriteTimeout time.Duration
	// MaxClients caps the open streams (default 10,000) and
	// MaxClientsPerAddr those from one client address (default 32); beyond
	// either a client gets 503 with the reason.
	MaxClients, MaxClientsPerAddr int
	// Realm is the Basic auth realm (default "herald").
	Realm string
	// Logger receives connects, disconnects and cut clients, with the
	// attribute reporter=stream. Default: the logger of the Hub the Server
	// is added to (see status.Logging; it names reporters itself), and
	// slog.Default() until then.
	Logger *slog.Logger
}

// Server streams events to clients. It is a status.Reporter, a status.Closer
// and an http.Handler; all methods are safe for concurrent use. Report never
// waits for a client.
type Server struct {
	o       Options
	log     *slog.Logger
	inherit func(*slog.Logger)
	b       *sse.Broadcaster[*entry]

	// The server's own view, for snapshots: changed by Report's make
	// function and read by Subscribed, both under the Broadcaster's lock.
	builders map[string]*status.Builder
	builds   map[string]*status.Build // latest build per builder

	events, refused atomic.Uint64
}

var (
	_ status.Reporter = (*Server)(nil)
	_ status.Closer   = (*Server)(nil)
	_ status.Named    = (*Server)(nil)
	_ status.Logging  = (*Server)(nil)
)

// entry is one event, encoded once for every client.
type entry struct {
	ev   status.Event
	json []byte
}

// New validates o and returns a Server. Every problem is reported.
func New(o Options) (*Server, error) {
	var errs []error
	if o.Auth == nil && !o.Anonymous {
		errs = append(errs, errors.New("stream: Options.Auth is nil: set one (e.g. auth.Users), or Anonymous: true for an open stream"))
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"Replay", o.Replay}, {"ClientBuffer", o.ClientBuffer}, {"MaxClients", o.MaxClients}, {"MaxClientsPerAddr", o.MaxClientsPerAddr}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("stream: Options.%s is negative (%d): use 0 for the default", n.name, n.v))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"KeepAlive", o.KeepAlive}, {"WriteTimeout", o.WriteTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("stream: Options.%s is negative (%v): use 0 for the default", d.name, d.v))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if o.Replay == 0 {
		o.Replay = 10_000
	}
	if o.ClientBuffer == 0 {
		o.ClientBuffer = 1024
	}
	if o.MaxClients == 0 {
		o.MaxClients = 10_000
	}
	if o.Realm == "" {
		o.Realm = "herald"
	}
	if o.Throttle == nil {
		o.Throttle = auth.NewThrottle(0, 0)
	}
	log, inherit := hublog.New(o.Logger)
	if o.Logger != nil { // the Hub's logger names its reporters itself
		log = log.With("reporter", "stream")
	}
	s := &Server{
		o: o, log: log, inherit: inherit,
		b: sse.New[*entry](sse.Options{Name: "stream", Slow: sse.Cut, Buffer: o.ClientBuffer, Replay: o.Replay,
			KeepAlive: o.KeepAlive, WriteTimeout: o.WriteTimeout, MaxClients: o.MaxClients,
			MaxPerAddr: o.MaxClientsPerAddr, Logger: log}),
		builders: map[string]*status.Builder{},
		builds:   map[string]*status.Build{},
	}
	return s, nil
}

// InheritLogger implements status.Logging: without Options.Logger the
// Server logs through l.
func (s *Server) InheritLogger(l *slog.Logger) { s.inherit(l) }

// Name returns "stream".
func (s *Server) Name() string { return "stream" }

// Report numbers e (its Seq, or the next number when Seq does not
// increase), keeps it for replay and hands it to every matching client
// without waiting: a client whose buffer is full is disconnected.
func (s *Server) Report(ctx context.Context, e status.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stream: report %v: %w", e.Kind, err)
	}
	_, err := s.b.Publish(e.Seq, func(id uint64) (*entry, error) {
		e.Seq = id
		b, err := wire.Marshal(e) // the versioned wire form, as on the bus
		if err != nil {
			return nil, fmt.Errorf("stream: encode %v event: %w", e.Kind, err)
		}
		s.track(&e)
		s.events.Add(1)
		return &entry{ev: e, json: b}, nil
	})
	return err
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

// ownSnapshot returns the server's view; called under the Broadcaster's lock.
func (s *Server) ownSnapshot(f Filter, seq uint64) *Snapshot {
	sn := &Snapshot{Seq: seq, Builders: []status.Builder{}}
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

// Stats counts what the Server did.
type Stats struct {
	Clients   int    // connected now
	Connected uint64 // connections accepted
	Refused   uint64 // requests refused: wrong credentials, throttled, or over a cap
	Cut       uint64 // clients disconnected for falling behind
	Events    uint64 // events reported
	Replayed  uint64 // events sent to resuming clients from the replay buffer
}

// Stats returns the Server's counters.
func (s *Server) Stats() Stats {
	st := s.b.Stats()
	return Stats{Clients: st.Clients, Connected: st.Connected, Refused: s.refused.Load() + st.Refused,
		Cut: st.Cut, Events: s.events.Load(), Replayed: st.Replayed}
}

// Close ends every stream and waits for their handlers to return, or for
// ctx. Events reported after Close are ignored.
func (s *Server) Close(ctx context.Context) error {
	if err := s.b.Close(ctx); err != nil {
		return fmt.Errorf("stream: Close: %w", ctx.Err())
	}
	return nil
}
