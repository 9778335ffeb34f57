package store

import (
	"cmp"
	"context"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// Builders lists builders sorted by name, with State Building while a build
// runs (unless the host reported it Offline) and Pending counted from
// pending requests.
func (m *Memory) Builders(ctx context.Context) ([]status.Builder, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]status.Builder, 0, len(m.builders))
	for _, b := range m.builders {
		out = append(out, m.derived(b))
	}
	slices.SortFunc(out, func(a, b status.Builder) int { return cmp.Compare(a.Name, b.Name) })
	return out, ctx.Err()
}

func (m *Memory) derived(b *status.Builder) status.Builder {
	d := *b
	if d.State == status.Idle {
		if list := m.builds[b.Name]; len(list) > 0 && !list[len(list)-1].Done() {
			d.State = status.Building
		}
	}
	if d.Pending == 0 {
		for _, r := range m.pending {
			if r.Builder == b.Name {
				d.Pending++
			}
		}
	}
	return d
}

// Builder returns one builder.
func (m *Memory) Builder(ctx context.Context, name string) (*status.Builder, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.builders[name]
	if !ok {
		return nil, status.ErrNotFound
	}
	d := m.derived(b)
	return &d, ctx.Err()
}

// Builds returns the builds q selects, newest first by start time.
func (m *Memory) Builds(ctx context.Context, q status.BuildQuery) ([]*status.Build, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []*status.Build
	scan := func(list []*status.Build) {
		n := 0
		for i := len(list) - 1; i >= 0; i-- {
			if q.Limit > 0 && n == q.Limit {
				return
			}
			if q.Match(list[i]) {
				out = append(out, list[i])
				n++
			}
		}
	}
	if q.Running {
		out = m.runningBuilds(&q)
	} else if len(q.Builders) > 0 {
		for _, name := range q.Builders {
			scan(m.builds[name])
		}
	} else {
		for _, list := range m.builds {
			scan(list)
		}
	}
	slices.SortStableFunc(out, func(a, b *status.Build) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Builder, b.Builder), cmp.Compare(b.Number, a.Number))
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, ctx.Err()
}

// runningBuilds returns the running builds q selects, at most q.Limit of
// each builder (the newest by number, as Builds' scan takes them). It reads
// the index of running builds, not every build: pages ask for the running
// builds of each builder on every view, and a builder keeps up to
// BuildsPerBuilder finished ones.
func (m *Memory) runningBuilds(q *status.BuildQuery) []*status.Build {
	var out []*status.Build
	for k := range m.running {
		if len(q.Builders) > 0 && !slices.Contains(q.Builders, k.builder) {
			continue
		}
		if b := m.find(k.builder, k.number); b != nil && q.Match(b) {
			out = append(out, b)
		}
	}
	if q.Limit <= 0 {
		return out
	}
	slices.SortFunc(out, func(a, b *status.Build) int {
		return cmp.Or(cmp.Compare(a.Builder, b.Builder), cmp.Compare(b.Number, a.Number))
	})
	var kept []*status.Build
	n := 0
	for i, b := range out {
		if i == 0 || out[i-1].Builder != b.Builder {
			n = 0
		}
		if n < q.Limit {
			kept = append(kept, b)
			n++
		}
	}
	return kept
}

// Build returns one build; number -1 is the newest, -2 the one before...
func (m *Memory) Build(ctx context.Context, builder string, number int) (*status.Build, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if number < 0 {
		list := m.builds[builder]
		if i := len(list) + number; i >= 0 {
			return list[i], ctx.Err()
		}
		return nil, status.ErrNotFound
	}
	if b := m.find(builder, number); b != nil {
		return b, ctx.Err()
	}
	return nil, status.ErrNotFound
}

// PreviousBuild returns the newest finished build of b's builder numbered
// below b, or nil.
func (m *Memory) PreviousBuild(ctx context.Context, b *status.Build) (*status.Build, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	list := m.builds[b.Builder]
	i, _ := slices.BinarySearchFunc(list, b.Number, func(x *status.Build, n int) int { return cmp.Compare(x.Number, n) })
	for i--; i >= 0; i-- {
		if list[i].Done() {
			return list[i], ctx.Err()
		}
	}
	return nil, ctx.Err()
}

// Log returns the log's text as far as it has arrived.
func (m *Memory) Log(ctx context.Context, ref status.LogRef) (io.ReadCloser, error) {
	m.mu.RLock()
	d := m.logs[logKey{ref.Builder, ref.Build, ref.Step, ref.Name}]
	var chunks []string
	if d != nil {
		chunks = d.chunks[:len(d.chunks):len(d.chunks)] // chunks are immutable; the header is a snapshot
	}
	m.mu.RUnlock()
	if d == nil {
		return nil, status.ErrNotFound
	}
	return &chunkReader{chunks: chunks}, ctx.Err()
}

// chunkReader reads a snapshot of a log's chunks without copying them.
type chunkReader struct {
	chunks []string
	off    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(r.chunks) > 0 {
		c := copy(p[n:], r.chunks[0][r.off:])
		n += c
		r.off += c
		if r.off == len(r.chunks[0]) {
			r.chunks, r.off = r.chunks[1:], 0
		}
	}
	if n == 0 && len(r.chunks) == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// WriteTo lets io.Copy stream the chunks directly.
func (r *chunkReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for len(r.chunks) > 0 {
		n, err := io.WriteString(w, r.chunks[0][r.off:])
		total += int64(n)
		if err != nil {
			r.off += n
			return total, err
		}
		r.chunks, r.off = r.chunks[1:], 0
	}
	return total, nil
}

func (r *chunkReader) Close() error { return nil }

// Changes returns the changes q selects, newest first.
func (m *Memory) Changes(ctx context.Context, q status.ChangeQuery) ([]status.Change, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []status.Change
	for i := len(m.changes) - 1; i >= 0; i-- {
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
		if q.Match(&m.changes[i]) {
			out = append(out, m.changes[i])
		}
	}
	return out, ctx.Err()
}

// Change returns one change.
func (m *Memory) Change(ctx context.Context, id int64) (*status.Change, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if i, ok := slices.BinarySearchFunc(m.changes, id, func(x status.Change, id int64) int { return cmp.Compare(x.ID, id) }); ok {
		c := m.changes[i]
		return &c, ctx.Err()
	}
	return nil, status.ErrNotFound
}

// Workers lists workers sorted by name.
func (m *Memory) Workers(ctx context.Context) ([]status.Worker, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]status.Worker, 0, len(m.workers))
	for _, w := range m.workers {
		out = append(out, *w)
	}
	slices.SortFunc(out, func(a, b status.Worker) int { return cmp.Compare(a.Name, b.Name) })
	return out, ctx.Err()
}

// Pending lists pending requests of builder ("" for all), oldest first.
func (m *Memory) Pending(ctx context.Context, builder string) ([]status.BuildRequest, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []status.BuildRequest
	for _, r := range m.pending {
		if builder == "" || r.Builder == builder {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b status.BuildRequest) int {
		return cmp.Or(a.Submitted.Compare(b.Submitted), strings.Compare(a.ID, b.ID))
	})
	return out, ctx.Err()
}

// Users lists users by ID.
func (m *Memory) Users(ctx context.Context) ([]status.User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]status.User, 0, len(m.users))
	for _, u := range m.users {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b status.User) int { return cmp.Compare(a.ID, b.ID) })
	return out, ctx.Err()
}

// BuildSet returns a build set seen in events.
func (m *Memory) BuildSet(ctx context.Context, id string) (*status.BuildSet, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if bs, ok := m.sets[id]; ok {
		return bs, ctx.Err()
	}
	return nil, status.ErrNotFound
}

// LogDone reports whether a log has finished, so a follower knows when to stop.
func (m *Memory) LogDone(ref status.LogRef) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	d := m.logs[logKey{ref.Builder, ref.Build, ref.Step, ref.Name}]
	return d != nil && d.done
}

// Activity returns the waterfall's events that are about no single build:
// workers connecting and disconnecting, masters starting and stopping,
// builders added and removed (a reconfig), with times in [from, to] (a zero
// time leaves that end open), oldest first. A Memory keeps the newest
// MemoryOptions.Activity of them; one made by OpenMemory keeps them across
// restarts. The events are shared: callers must not modify them.
func (m *Memory) Activity(ctx context.Context, from, to time.Time) ([]status.Event, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []status.Event
	for _, a := range m.activity {
		if (from.IsZero() || !a.e.Time.Before(from)) && (to.IsZero() || !a.e.Time.After(to)) {
			out = append(out, a.e)
		}
	}
	return out, ctx.Err()
}
