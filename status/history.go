package status

import (
	"context"
	"io"
	"time"
)

// History is what the host knows about the past, read-only. Mail's change and
// problem modes, IRC's last and status commands and every web page read it.
// store.Memory implements it from the events it receives; a host with its own
// database may implement it directly. Implementations must be safe for
// concurrent use, return ErrNotFound for unknown names and numbers, and return
// values the caller must not modify.
type History interface {
	// Builders lists the configured builders, sorted by name.
	Builders(ctx context.Context) ([]Builder, error)
	// Builder returns one builder.
	Builder(ctx context.Context, name string) (*Builder, error)
	// Builds returns the builds q selects, newest first (by start time).
	Builds(ctx context.Context, q BuildQuery) ([]*Build, error)
	// Build returns one build; a negative number counts from the newest (-1).
	Build(ctx context.Context, builder string, number int) (*Build, error)
	// PreviousBuild returns the finished build of b's builder before b, or
	// nil and no error when there is none.
	PreviousBuild(ctx context.Context, b *Build) (*Build, error)
	// Log returns the contents of a log as far as they are known; it may be
	// called while the log is still growing.
	Log(ctx context.Context, ref LogRef) (io.ReadCloser, error)
	// Changes returns the changes q selects, newest first.
	Changes(ctx context.Context, q ChangeQuery) ([]Change, error)
	// Change returns one change.
	Change(ctx context.Context, id int64) (*Change, error)
	// Workers lists the known workers, sorted by name.
	Workers(ctx context.Context) ([]Worker, error)
	// Pending lists the pending build requests of a builder ("" for all),
	// oldest first.
	Pending(ctx context.Context, builder string) ([]BuildRequest, error)
	// Users lists the known users.
	Users(ctx context.Context) ([]User, error)
}

// BuildQuery selects builds. Zero fields select everything.
type BuildQuery struct {
	Builders []string // any of these builders
	Branches []string // any source stamp on one of these branches
	Tags     []string // builders carrying any of these tags
	Results  []Result // finished with one of these results
	// Finished selects only finished builds; Running only running ones.
	Finished, Running bool
	MinNumber         int               // number >= MinNumber
	MaxNumber         int               // number <= MaxNumber when > 0
	Properties        map[string]string // property's string form equals value
	Revision          string            // a source stamp at this revision (full hash or prefix of 7+)
	Since, Until      time.Time         // started within [Since, Until)
	Limit             int               // at most this many (0: no limit)
}

// ChangeQuery selects changes. Zero fields select everything.
type ChangeQuery struct {
	Branches     []string
	Repositories []string
	Projects     []string
	Codebases    []string
	Authors      []string // matches the author's name or address
	Before       int64    // ID < Before when > 0 (paging)
	Limit        int
}

// Control is what a host lets people do from the web and IRC, after
// authorization. A host implements what it supports and returns
// ErrUnsupported for the rest; ErrNotFound for unknown subjects.
// Implementations must be safe for concurrent use.
type Control interface {
	ForceBuild(ctx context.Context, r ForceRequest) error
	StopBuild(ctx context.Context, builder string, number int, who, reason string) error
	Rebuild(ctx context.Context, builder string, number int, who, reason string) error
	PingBuilder(ctx context.Context, builder string) error
	// CancelRequest cancels a pending build request.
	CancelRequest(ctx context.Context, id, who string) error
	// StopChange stops the builds and requests of a change.
	StopChange(ctx context.Context, change int64, who string) error
	// ShutdownWorker asks a worker to shut down gracefully, after its builds.
	ShutdownWorker(ctx context.Context, worker string) error
	PauseWorker(ctx context.Context, worker string, paused bool) error
	// ShutdownMaster stops the master: with clean, once running builds end.
	ShutdownMaster(ctx context.Context, clean bool) error
	// CancelShutdown cancels a clean shutdown in progress.
	CancelShutdown(ctx context.Context) error
	// ShutdownState reports whether a clean shutdown is in progress.
	ShutdownState(ctx context.Context) (shuttingDown bool, err error)
}

// ForceRequest asks for a build.
type ForceRequest struct {
	Builder    string
	Who        string
	Reason     string
	Branch     string
	Revision   string
	Repository string
	Project    string
	Properties map[string]string
}

// UnsupportedControl implements Control by returning ErrUnsupported for
// everything. Embed it in a host's Control to implement only some methods.
type UnsupportedControl struct{}

func (UnsupportedControl) ForceBuild(context.Context, ForceRequest) error { return ErrUnsupported }
func (UnsupportedControl) StopBuild(context.Context, string, int, string, string) error {
	return ErrUnsupported
}
func (UnsupportedControl) Rebuild(context.Context, string, int, string, string) error {
	return ErrUnsupported
}
func (UnsupportedControl) PingBuilder(context.Context, string) error           { return ErrUnsupported }
func (UnsupportedControl) CancelRequest(context.Context, string, string) error { return ErrUnsupported }
func (UnsupportedControl) StopChange(context.Context, int64, string) error     { return ErrUnsupported }
func (UnsupportedControl) ShutdownWorker(context.Context, string) error        { return ErrUnsupported }
func (UnsupportedControl) PauseWorker(context.Context, string, bool) error     { return ErrUnsupported }
func (UnsupportedControl) ShutdownMaster(context.Context, bool) error          { return ErrUnsupported }
func (UnsupportedControl) CancelShutdown(context.Context) error                { return ErrUnsupported }
func (UnsupportedControl) ShutdownState(context.Context) (bool, error)         { return false, ErrUnsupported }

var _ Control = UnsupportedControl{}
