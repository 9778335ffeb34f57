package statustest

import (
	"cmp"
	"context"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/heraldci/herald/status"
)

// History is a fake status.History seeded directly by a test. Its zero value
// is empty and usable; it is safe for concurrent use.
type History struct {
	mu       sync.Mutex
	builders []status.Builder
	builds   []*status.Build
	changes  []status.Change
	workers  []status.Worker
	pending  []status.BuildRequest
	users    []status.User
	logs     map[status.LogRef]string
}

var _ status.History = (*History)(nil)

// NewHistory returns a History holding builds, with a builder for each
// builder name they use.
func NewHistory(builds ...*status.Build) *History {
	h := &History{}
	for _, b := range builds {
		h.AddBuild(b)
	}
	return h
}

// AddBuild adds (or replaces) a build, and its builder if new.
func (h *History) AddBuild(b *status.Build) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !slices.ContainsFunc(h.builders, func(x status.Builder) bool { return x.Name == b.Builder }) {
		h.builders = append(h.builders, status.Builder{Name: b.Builder, Tags: b.Tags, Workers: []string{b.Worker}})
		slices.SortFunc(h.builders, func(a, b status.Builder) int { return cmp.Compare(a.Name, b.Name) })
	}
	h.builds = slices.DeleteFunc(h.builds, func(x *status.Build) bool { return x.Builder == b.Builder && x.Number == b.Number })
	h.builds = append(h.builds, b)
	slices.SortStableFunc(h.builds, func(a, b *status.Build) int { return b.Started.Compare(a.Started) })
}

// AddBuilder adds a builder.
func (h *History) AddBuilder(b status.Builder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.builders = slices.DeleteFunc(h.builders, func(x status.Builder) bool { return x.Name == b.Name })
	h.builders = append(h.builders, b)
	slices.SortFunc(h.builders, func(a, b status.Builder) int { return cmp.Compare(a.Name, b.Name) })
}

// AddChange adds a change.
func (h *History) AddChange(c status.Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changes = append(h.changes, c)
	slices.SortFunc(h.changes, func(a, b status.Change) int { return cmp.Compare(b.ID, a.ID) })
}

// AddWorker adds a worker.
func (h *History) AddWorker(w status.Worker) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.workers = append(h.workers, w)
	slices.SortFunc(h.workers, func(a, b status.Worker) int { return cmp.Compare(a.Name, b.Name) })
}

// AddPending adds a pending build request.
func (h *History) AddPending(r status.BuildRequest) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = append(h.pending, r)
}

// AddUser adds a user.
func (h *History) AddUser(u status.User) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.users = append(h.users, u)
}

// SetLog sets the contents of a log (matched by builder, build, step, name).
func (h *History) SetLog(ref status.LogRef, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.logs == nil {
		h.logs = map[status.LogRef]string{}
	}
	ref.Size = 0
	h.logs[ref] = text
}

func (h *History) Builders(ctx context.Context) ([]status.Builder, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.builders), ctx.Err()
}

func (h *History) Builder(ctx context.Context, name string) (*status.Builder, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range h.builders {
		if b.Name == name {
			return &b, ctx.Err()
		}
	}
	return nil, status.ErrNotFound
}

func (h *History) Builds(ctx context.Context, q status.BuildQuery) ([]*status.Build, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*status.Build
	for _, b := range h.builds {
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
		if q.Match(b) {
			out = append(out, b)
		}
	}
	return out, ctx.Err()
}

func (h *History) Build(ctx context.Context, builder string, number int) (*status.Build, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := 0
	for _, b := range h.builds {
		if b.Builder != builder {
			continue
		}
		seen--
		if b.Number == number || number < 0 && seen == number {
			return b, ctx.Err()
		}
	}
	return nil, status.ErrNotFound
}

func (h *History) PreviousBuild(ctx context.Context, cur *status.Build) (*status.Build, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var prev *status.Build
	for _, b := range h.builds {
		if b.Builder == cur.Builder && b.Number < cur.Number && b.Done() && (prev == nil || b.Number > prev.Number) {
			prev = b
		}
	}
	return prev, ctx.Err()
}

func (h *History) Log(ctx context.Context, ref status.LogRef) (io.ReadCloser, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ref.Size = 0
	text, ok := h.logs[ref]
	if !ok {
		return nil, status.ErrNotFound
	}
	return io.NopCloser(strings.NewReader(text)), ctx.Err()
}

func (h *History) Changes(ctx context.Context, q status.ChangeQuery) ([]status.Change, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []status.Change
	for i := range h.changes {
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
		if q.Match(&h.changes[i]) {
			out = append(out, h.changes[i])
		}
	}
	return out, ctx.Err()
}

func (h *History) Change(ctx context.Context, id int64) (*status.Change, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.changes {
		if c.ID == id {
			return &c, ctx.Err()
		}
	}
	return nil, status.ErrNotFound
}

func (h *History) Workers(ctx context.Context) ([]status.Worker, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.workers), ctx.Err()
}

func (h *History) Pending(ctx context.Context, builder string) ([]status.BuildRequest, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []status.BuildRequest
	for _, r := range h.pending {
		if builder == "" || r.Builder == builder {
			out = append(out, r)
		}
	}
	return out, ctx.Err()
}

func (h *History) Users(ctx context.Context) ([]status.User, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.users), ctx.Err()
}
