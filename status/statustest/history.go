package statustest

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heraldci/herald/status"
)

// History is a fake status.History seeded directly by a test (AddBuild and
// the other Add methods) or fed events like a Hub's history (Apply: it is a
// status.Ledger). Its zero value is empty and usable; it is safe for
// concurrent use.
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

var _ status.Ledger = (*History)(nil)

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
	h.addBuild(b)
}

func (h *History) addBuild(b *status.Build) {
	if !slices.ContainsFunc(h.builders, func(x status.Builder) bool { return x.Name == b.Builder }) {
		h.builders = append(h.builders, status.Builder{Name: b.Builder, Tags: b.Tags, Workers: []string{b.Worker}})
		slices.SortFunc(h.builders, func(a, b status.Builder) int { return cmp.Compare(a.Name, b.Name) })
	}
	h.builds = slices.DeleteFunc(h.builds, func(x *status.Build) bool { return x.Builder == b.Builder && x.Number == b.Number })
	h.builds = append(h.builds, b)
	slices.SortStableFunc(h.builds, func(a, b *status.Build) int { return b.Started.Compare(a.Started) })
}

// AddBuilder adds (or replaces) a builder.
func (h *History) AddBuilder(b status.Builder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addBuilder(b)
}

func (h *History) addBuilder(b status.Builder) {
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

// AddWorker adds (or replaces) a worker.
func (h *History) AddWorker(w status.Worker) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addWorker(w)
}

func (h *History) addWorker(w status.Worker) {
	h.workers = slices.DeleteFunc(h.workers, func(x status.Worker) bool { return x.Name == w.Name })
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
	slices.SortStableFunc(out, func(a, b status.BuildRequest) int { return a.Submitted.Compare(b.Submitted) })
	return out, ctx.Err()
}

func (h *History) Users(ctx context.Context) ([]status.User, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.users), ctx.Err()
}

// Apply records e as a Hub's history would (see status.Ledger): it numbers
// new changes and fills in their When from the event's Time, gives a
// build's changes without an ID the ID of the stored change with the same
// revision, and returns an error, recording nothing, for a step or log of a
// build it does not hold or an event without its subject.
func (h *History) Apply(e *status.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	when := e.Time
	if when.IsZero() {
		when = time.Now()
	}
	switch e.Kind {
	case status.BuilderAdded, status.BuilderChanged, status.BuilderRemoved:
		if e.Builder == nil {
			return fmt.Errorf("statustest: %v without a Builder", e.Kind)
		}
		if e.Kind == status.BuilderRemoved {
			h.builders = slices.DeleteFunc(h.builders, func(x status.Builder) bool { return x.Name == e.Builder.Name })
		} else {
			h.addBuilder(*e.Builder)
		}
	case status.RequestSubmitted, status.RequestCancelled:
		if e.Request == nil {
			return fmt.Errorf("statustest: %v without a Request", e.Kind)
		}
		h.pending = slices.DeleteFunc(h.pending, func(r status.BuildRequest) bool { return r.ID == e.Request.ID })
		if e.Kind == status.RequestSubmitted {
			h.pending = append(h.pending, *e.Request)
		}
	case status.BuildStarted, status.BuildFinished:
		if e.Build == nil {
			return fmt.Errorf("statustest: %v without a Build", e.Kind)
		}
		h.linkChanges(e)
		b := e.Build
		if old := h.find(b.Builder, b.Number); old != nil && len(b.Steps) == 0 {
			nb := *b
			nb.Steps = old.Steps
			b = &nb
		}
		h.addBuild(h.withLogSizes(b))
	case status.StepStarted, status.StepTextChanged, status.StepFinished:
		if e.Build == nil || e.Step == nil {
			return fmt.Errorf("statustest: %v without a Build and Step", e.Kind)
		}
		old := h.find(e.Build.Builder, e.Build.Number)
		if old == nil {
			return fmt.Errorf("statustest: %v of unknown build %s #%d", e.Kind, e.Build.Builder, e.Build.Number)
		}
		h.linkChanges(e)
		h.addBuild(h.withLogSizes(withStep(old, *e.Step)))
	case status.LogStarted, status.LogAppended, status.LogFinished:
		if e.Log == nil {
			return fmt.Errorf("statustest: %v without a Log", e.Kind)
		}
		old := h.find(e.Log.Builder, e.Log.Build)
		if old == nil {
			return fmt.Errorf("statustest: %v of unknown build %s #%d", e.Kind, e.Log.Builder, e.Log.Build)
		}
		if !slices.ContainsFunc(old.Steps, func(s status.Step) bool { return s.Name == e.Log.Step }) {
			if e.Step == nil {
				return fmt.Errorf("statustest: %v of unknown step %q", e.Kind, e.Log.Step)
			}
			old = withStep(old, *e.Step)
		}
		if h.logs == nil {
			h.logs = map[status.LogRef]string{}
		}
		key := *e.Log
		key.Size = 0
		h.logs[key] += e.Chunk
		ref := key
		ref.Size = int64(len(h.logs[key]))
		nb := *old
		nb.Steps = slices.Clone(old.Steps)
		st := &nb.Steps[slices.IndexFunc(nb.Steps, func(s status.Step) bool { return s.Name == ref.Step })]
		st.Logs = slices.DeleteFunc(slices.Clone(st.Logs), func(l status.LogRef) bool { return l.Name == ref.Name })
		st.Logs = append(st.Logs, ref)
		h.addBuild(&nb)
	case status.ChangeAdded:
		if e.Change == nil {
			return fmt.Errorf("statustest: %v without a Change", e.Kind)
		}
		c := e.Change.Clone()
		if c.ID == 0 {
			for _, x := range h.changes {
				c.ID = max(c.ID, x.ID)
			}
			c.ID++
		}
		if c.When.IsZero() {
			c.When = when
		}
		h.changes = slices.DeleteFunc(h.changes, func(x status.Change) bool { return x.ID == c.ID })
		h.changes = append(h.changes, c)
		slices.SortFunc(h.changes, func(a, b status.Change) int { return cmp.Compare(b.ID, a.ID) })
		if c.Author != "" && !slices.ContainsFunc(h.users, func(u status.User) bool { return u.Name == c.Author }) {
			name, email := status.SplitAuthor(c.Author)
			h.users = append(h.users, status.User{ID: int64(len(h.users) + 1), Name: c.Author, FullName: name, Email: email})
		}
		e.Change = &c
	case status.WorkerConnected, status.WorkerDisconnected:
		if e.Worker == nil {
			return fmt.Errorf("statustest: %v without a Worker", e.Kind)
		}
		w := *e.Worker
		w.Connected = e.Kind == status.WorkerConnected
		if w.LastSeen.IsZero() {
			w.LastSeen = when
		}
		h.addWorker(w)
	}
	return nil
}

func (h *History) find(builder string, number int) *status.Build {
	for _, b := range h.builds {
		if b.Builder == builder && b.Number == number {
			return b
		}
	}
	return nil
}

// withStep returns a copy of b with step replaced (by name) or appended.
func withStep(b *status.Build, step status.Step) *status.Build {
	nb := *b
	nb.Steps = slices.Clone(b.Steps)
	if i := slices.IndexFunc(nb.Steps, func(s status.Step) bool { return s.Name == step.Name }); i >= 0 {
		if len(step.Logs) == 0 {
			step.Logs = nb.Steps[i].Logs
		}
		nb.Steps[i] = step
	} else {
		nb.Steps = append(nb.Steps, step)
	}
	return &nb
}

// linkChanges gives e.Build's changes without an ID the ID of the stored
// change with the same revision, repository and branch.
func (h *History) linkChanges(e *status.Event) {
	var b *status.Build
	for i, s := range e.Build.Sources {
		for j, c := range s.Changes {
			if c.ID != 0 {
				continue
			}
			k := slices.IndexFunc(h.changes, func(x status.Change) bool {
				return status.SameRevision(x.Revision, c.Revision) && x.Repository == c.Repository && x.Branch == c.Branch
			})
			if k < 0 {
				continue
			}
			if b == nil {
				b = e.Build.Clone()
			}
			b.Sources[i].Changes[j].ID = h.changes[k].ID
			if c.When.IsZero() {
				b.Sources[i].Changes[j].When = h.changes[k].When
			}
		}
	}
	if b != nil {
		e.Build = b
	}
}

// withLogSizes returns b with the size of every log it holds as the size of
// the text it has.
func (h *History) withLogSizes(b *status.Build) *status.Build {
	nb := b.Clone()
	for i := range nb.Steps {
		for j, l := range nb.Steps[i].Logs {
			l.Size = 0
			if text, ok := h.logs[l]; ok {
				nb.Steps[i].Logs[j].Size = int64(len(text))
			}
		}
	}
	return nb
}
