// Package store keeps build history for the pages, mails and bots that need
// the past. Memory builds its history from the events it is given: hand it
// to the Hub as its history, so every event is applied before any reporter
// sees it, and to web, mail and irc as their status.History:
//
//	mem := store.NewMemory(store.MemoryOptions{})
//	hub := status.NewHub(status.HubOptions{History: mem})
//
// OpenMemory keeps the history in a file as well, across restarts; the
// master's builds that were running when its previous process stopped are
// then finished, and every reporter told, with one call once the Hub has
// its reporters. The Memory is given the master's name, as its Hub is:
//
//	history, err := store.OpenMemory(path, store.MemoryOptions{Master: "ci1"})
//	...
//	hub := status.NewHub(status.HubOptions{History: history, Master: "ci1"})
//	hub.Add(...)
//	if _, err := history.FinishInterrupted(ctx, hub); err != nil {
//		...
//	}
//
// A front end fed by package bus keeps the default MemoryOptions.Master:
// the builds it records are other masters', which its own restart did not
// stop, so they stay running until their masters' events end them.
package store

import (
	"log/slog"
	"sync"
	"time"

	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// MemoryOptions bounds what a Memory keeps. The zero value is usable.
type MemoryOptions struct {
	// BuildsPerBuilder is how many builds of each builder are kept (default
	// 1000); the oldest builds and their logs go first.
	BuildsPerBuilder int
	// LogBytes caps each log (default 4 MiB); text past the cap is dropped
	// and the log ends with a line saying so.
	LogBytes int64
	// Changes is how many changes are kept (default 10,000).
	Changes int
	// Activity is how many waterfall events about no single build (workers
	// connecting, masters starting and stopping, builders added or removed)
	// are kept (default 1000). See Memory.Activity.
	Activity int
	// PersistDelay bounds how long an applied event waits before it is
	// written to an OpenMemory file (default 1 s). Events are written in
	// groups, one commit per group: a group is committed PersistDelay after
	// its first event, so a file sees at most one commit per PersistDelay
	// and, after a crash or kill -9, holds everything applied more than
	// PersistDelay (plus the time of one commit) before it. Unused by
	// NewMemory.
	PersistDelay time.Duration
	// Logger receives failures to write the file. Default: the logger of
	// the Hub the Memory is the History of (see status.Logging), and
	// slog.Default() until then.
	Logger *slog.Logger
	// Master names the master this Memory is the history of — the
	// HubOptions.Master of its Hub — or is "" for a master with no name.
	// It matters after a restart: of the builds the file holds running,
	// OpenMemory shows ended, and FinishInterrupted ends, only this
	// master's, as Build.Master (or the Master of the event that recorded
	// the build) says. Builds of other masters, which a front end records
	// from package bus, stay running until their own master's events end
	// them: a front end's restart did not stop them. So a front end leaves
	// Master "" (masters publishing to a bus are named); a master with a
	// name gives it here as well as to its Hub, or its builds stay running
	// after a crash (FinishInterrupted then logs a warning naming it).
	Master string
}

// Memory is a status.Ledger: a status.History held in memory and fed by
// Apply, which a Hub calls for every event it publishes. Values it returns
// are shared snapshots: callers must not modify them. It is safe for
// concurrent use.
type Memory struct {
	opts    MemoryOptions
	inherit func(*slog.Logger)

	mu       sync.RWMutex
	builders map[string]*status.Builder
	builds   map[string][]*status.Build // per builder, by number ascending
	running  map[buildKey]struct{}      // the builds in builds that have not finished
	logs     map[logKey]*logData
	logsOf   map[buildKey][]logKey // the keys of logs, per build
	changes  []status.Change       // by ID ascending
	nextID   int64
	workers  map[string]*status.Worker
	pending  map[string]status.BuildRequest
	users    map[string]*status.User // by author string
	sets     map[string]*status.BuildSet
	activity []activityEntry // oldest first
	nextAct  uint64          // sequence number of the next activity entry

	// interrupted holds the builds of this master the previous process
	// left running until their BuildFinished is applied; othersLeft, the
	// builds of other masters the file held running, until
	// FinishInterrupted looks at them (interrupted.go).
	interrupted       map[buildKey]interruptedBuild
	othersLeft        map[buildKey]string // the build's master
	warnedInterrupted bool
	finishing         sync.Mutex // one FinishInterrupted at a time

	file *file // nil unless made by OpenMemory; see persist.go
}

type logKey struct {
	builder    string
	build      int
	step, name string
}

type buildKey struct {
	builder string
	number  int
}

// logData is a log's text as the chunks that arrived; chunks are immutable,
// so a reader can keep a snapshot of the slice header while the log grows.
type logData struct {
	chunks    []string
	size      int64
	truncated bool
	done      bool
	// The file holds chunks[:saved], in segs segments (persist.go).
	saved, segs int
}

// activityEntry is a waterfall event (Memory.Activity) with the sequence
// number that keys it in the file.
type activityEntry struct {
	seq uint64
	e   status.Event
}

var (
	_ status.Ledger  = (*Memory)(nil)
	_ status.Logging = (*Memory)(nil)
)

// InheritLogger implements status.Logging: without MemoryOptions.Logger
// the Memory logs through l.
func (m *Memory) InheritLogger(l *slog.Logger) { m.inherit(l) }

// NewMemory returns an empty Memory that keeps its history in memory only.
func NewMemory(o MemoryOptions) *Memory {
	if o.BuildsPerBuilder <= 0 {
		o.BuildsPerBuilder = 1000
	}
	if o.LogBytes <= 0 {
		o.LogBytes = 4 << 20
	}
	if o.Changes <= 0 {
		o.Changes = 10000
	}
	if o.Activity <= 0 {
		o.Activity = 1000
	}
	if o.PersistDelay <= 0 {
		o.PersistDelay = time.Second
	}
	var inherit func(*slog.Logger)
	o.Logger, inherit = hublog.New(o.Logger)
	return &Memory{
		opts:     o,
		inherit:  inherit,
		builders: map[string]*status.Builder{},
		builds:   map[string][]*status.Build{},
		running:  map[buildKey]struct{}{},
		logs:     map[logKey]*logData{},
		logsOf:   map[buildKey][]logKey{},
		workers:  map[string]*status.Worker{},
		pending:  map[string]status.BuildRequest{},
		users:    map[string]*status.User{},
		sets:     map[string]*status.BuildSet{},
		nextAct:  1,

		interrupted: map[buildKey]interruptedBuild{},
		othersLeft:  map[buildKey]string{},
	}
}
