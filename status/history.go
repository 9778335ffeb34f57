package status

import (
	"context"
	"io"
	"slices"
	"strings"
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
	// ForceBuild queues a build and returns the request it queued. Its
	// BuildSetID is how a caller follows the build: the Build that serves
	// the request carries the same BuildSetID and Builder (IRC's force
	// command announces its result that way). A host that cannot say
	// which request it queued returns nil and no error.
	ForceBuild(ctx context.Context, r ForceRequest) (*BuildRequest, error)
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

func (UnsupportedControl) ForceBuild(context.Context, ForceRequest) (*BuildRequest, error) {
	return nil, ErrUnsupported
}
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

// Match reports whether b satisfies every set field of q except Limit.
// History implementations share it so queries mean the same everywhere.
func (q *BuildQuery) Match(b *Build) bool {
	if len(q.Builders) > 0 && !slices.Contains(q.Builders, b.Builder) {
		return false
	}
	if len(q.Tags) > 0 && !b.HasTag(q.Tags...) {
		return false
	}
	if q.Finished && !b.Done() || q.Running && b.Done() {
		return false
	}
	if len(q.Results) > 0 && (!b.Done() || !slices.Contains(q.Results, b.Result)) {
		return false
	}
	if b.Number < q.MinNumber || q.MaxNumber > 0 && b.Number > q.MaxNumber {
		return false
	}
	if !q.Since.IsZero() && b.Started.Before(q.Since) || !q.Until.IsZero() && !b.Started.Before(q.Until) {
		return false
	}
	if len(q.Branches) > 0 && !slices.ContainsFunc(b.Sources, func(s SourceStamp) bool {
		return slices.Contains(q.Branches, s.Branch)
	}) {
		return false
	}
	if q.Revision != "" && !slices.ContainsFunc(b.Sources, func(s SourceStamp) bool {
		return SameRevision(s.Revision, q.Revision)
	}) {
		return false
	}
	for k, v := range q.Properties {
		p, ok := b.Properties[k]
		if !ok || stringOf(p) != v {
			return false
		}
	}
	return true
}

// SameRevision reports whether two revisions name the same commit: equal, or
// one an abbreviation (7 characters or more) of the other.
func SameRevision(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return a == b || len(a) >= 7 && strings.HasPrefix(b, a)
}

// Match reports whether c satisfies every set field of q except Limit.
func (q *ChangeQuery) Match(c *Change) bool {
	switch {
	case q.Before > 0 && c.ID >= q.Before,
		len(q.Branches) > 0 && !slices.Contains(q.Branches, c.Branch),
		len(q.Repositories) > 0 && !slices.Contains(q.Repositories, c.Repository),
		len(q.Projects) > 0 && !slices.Contains(q.Projects, c.Project),
		len(q.Codebases) > 0 && !slices.Contains(q.Codebases, c.Codebase):
		return false
	}
	if len(q.Authors) > 0 {
		return slices.ContainsFunc(q.Authors, func(a string) bool { return AuthorMatches(c.Author, a) })
	}
	return true
}

// AuthorMatches reports whether who ("Name <email>", a name or an address)
// names the same person as author: equal, or equal name or address part.
func AuthorMatches(author, who string) bool {
	if author == who {
		return true
	}
	an, ae := SplitAuthor(author)
	wn, we := SplitAuthor(who)
	return wn != "" && strings.EqualFold(an, wn) || we != "" && strings.EqualFold(ae, we) ||
		we == "" && strings.EqualFold(ae, wn)
}

// SplitAuthor splits "Name <email>" into its parts; a bare address is
// returned as the email, a bare name as the name.
func SplitAuthor(s string) (name, email string) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		return strings.TrimSpace(s[:i]), s[i+1 : len(s)-1]
	}
	if strings.Contains(s, "@") && !strings.ContainsAny(s, " \t") {
		return "", s
	}
	return s, ""
}
