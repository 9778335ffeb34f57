// Package store keeps build history for the pages, mails and bots that need
// the past. Memory builds its history from the events it receives: add it to
// a status.Hub like any reporter and hand it to web, mail and irc as their
// status.History.
package store

import (
	"cmp"
	"context"
	"io"
	"slices"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"

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
}

// Memory is a status.History held in memory and fed by events: it is also a
// status.Reporter. Values it returns are shared snapshots: callers must not
// modify them. It is safe for concurrent use.
type Memory struct {
	opts MemoryOptions

	mu       sync.RWMutex
	builders map[string]*status.Builder
	builds   map[string][]*status.Build // per builder, by number ascending
	logs     map[logKey]*logData
	changes  []status.Change // by ID ascending
	nextID   int64
	workers  map[string]*status.Worker
	pending  map[string]status.BuildRequest
	users    map[string]*status.User // by author string
	sets     map[string]*status.BuildSet
	db       *bolt.DB // nil unless opened with OpenMemory
}

type logKey struct {
	builder    string
	build      int
	step, name string
}

type logData struct {
	chunks    []string
	size      int64
	truncated bool
	done      bool
}

var (
	_ status.History  = (*Memory)(nil)
	_ status.Reporter = (*Memory)(nil)
)

// NewMemory returns an empty Memory.
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
	return &Memory{
		opts:     o,
		builders: map[string]*status.Builder{},
		builds:   map[string][]*status.Build{},
		logs:     map[logKey]*logData{},
		workers:  map[string]*status.Worker{},
		pending:  map[string]status.BuildRequest{},
		users:    map[string]*status.User{},
		sets:     map[string]*status.BuildSet{},
	}
}

// Name names the store in Hub stats.
func (m *Memory) Name() string { return "store.Memory" }

// Report records e. It never fails on well-formed events; events missing the
// subject their kind needs are ignored.
func (m *Memory) Report(ctx context.Context, e status.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch e.Kind {
	case status.BuilderAdded, status.BuilderChanged:
		if e.Builder != nil {
			b := *e.Builder
			if b.Master == "" {
				b.Master = e.Master
			}
			m.builders[b.Name] = &b
		}
	case status.BuilderRemoved:
		if e.Builder != nil {
			delete(m.builders, e.Builder.Name)
		}
	case status.RequestSubmitted:
		if e.Request != nil {
			m.pending[e.Request.ID] = *e.Request
		}
	case status.RequestCancelled:
		if e.Request != nil {
			delete(m.pending, e.Request.ID)
		}
	case status.BuildSetSubmitted, status.BuildSetFinished:
		if e.BuildSet != nil {
			bs := *e.BuildSet
			m.sets[bs.ID] = &bs
		}
	case status.BuildStarted, status.BuildFinished:
		if e.Build != nil {
			m.putBuild(e.Build, e.Master)
		}
	case status.StepStarted, status.StepTextChanged, status.StepFinished:
		if e.Build != nil && e.Step != nil {
			m.putStep(e.Build, *e.Step, e.Master)
		}
	case status.LogStarted, status.LogAppended, status.LogFinished:
		if e.Log != nil {
			m.putLog(e)
		}
	case status.ChangeAdded:
		if e.Change != nil {
			c := m.addChange(*e.Change)
			e.Change = &c // persist it with the ID it was given
		}
	case status.WorkerConnected, status.WorkerDisconnected:
		if e.Worker != nil {
			w := *e.Worker
			w.Connected = e.Kind == status.WorkerConnected
			if w.LastSeen.IsZero() {
				w.LastSeen = e.Time
			}
			if w.Master == "" {
				w.Master = e.Master
			}
			m.workers[w.Name] = &w
		}
	}
	if m.db != nil {
		return m.persist(e)
	}
	return nil
}

// putBuild stores b (an immutable snapshot from an event), keeping steps the
// store knows of when b has none.
func (m *Memory) putBuild(b *status.Build, master string) {
	if _, ok := m.builders[b.Builder]; !ok {
		m.builders[b.Builder] = &status.Builder{Name: b.Builder, Tags: b.Tags, Workers: []string{b.Worker}, Master: master}
	}
	list := m.builds[b.Builder]
	i, found := slices.BinarySearchFunc(list, b.Number, func(x *status.Build, n int) int { return cmp.Compare(x.Number, n) })
	if found && len(b.Steps) == 0 && len(list[i].Steps) > 0 || b.Master == "" && master != "" {
		nb := *b
		if found && len(b.Steps) == 0 {
			nb.Steps = list[i].Steps
		}
		if nb.Master == "" {
			nb.Master = master
		}
		b = &nb
	}
	if found {
		list[i] = b
		return
	}
	list = slices.Insert(list, i, b)
	if over := len(list) - m.opts.BuildsPerBuilder; over > 0 {
		for _, old := range list[:over] {
			m.dropLogs(old)
		}
		list = slices.Delete(list, 0, over)
	}
	m.builds[b.Builder] = list
}

func (m *Memory) dropLogs(b *status.Build) {
	for _, s := range b.Steps {
		for _, l := range s.Logs {
			delete(m.logs, logKey{l.Builder, l.Build, l.Step, l.Name})
		}
	}
}

// putStep replaces (by number, else name) or appends step in a copy of the
// stored build.
func (m *Memory) putStep(b *status.Build, step status.Step, master string) {
	cur := m.find(b.Builder, b.Number)
	if cur == nil {
		m.putBuild(b, master)
		cur = m.find(b.Builder, b.Number)
	}
	nb := *cur
	nb.Steps = slices.Clone(cur.Steps)
	i := slices.IndexFunc(nb.Steps, func(s status.Step) bool { return s.Number == step.Number && s.Name == step.Name })
	if i < 0 {
		nb.Steps = append(nb.Steps, step)
	} else {
		if len(step.Logs) == 0 {
			step.Logs = nb.Steps[i].Logs
		}
		nb.Steps[i] = step
	}
	m.replace(&nb)
}

func (m *Memory) putLog(e status.Event) {
	ref := *e.Log
	k := logKey{ref.Builder, ref.Build, ref.Step, ref.Name}
	d := m.logs[k]
	if d == nil {
		d = &logData{}
		m.logs[k] = d
		m.attachLog(ref)
	}
	switch e.Kind {
	case status.LogAppended:
		if d.truncated || e.Chunk == "" {
			return
		}
		chunk := e.Chunk
		if room := m.opts.LogBytes - d.size; int64(len(chunk)) > room {
			chunk = chunk[:max(room, 0)] + "\n[herald: log truncated at the store's LogBytes limit]\n"
			d.truncated = true
		}
		d.chunks = append(d.chunks, chunk)
		d.size += int64(len(chunk))
	case status.LogFinished:
		d.done = true
		ref.Size = d.size
		m.attachLog(ref)
	}
}

// attachLog records ref (with its size) in its step of the stored build.
func (m *Memory) attachLog(ref status.LogRef) {
	cur := m.find(ref.Builder, ref.Build)
	if cur == nil {
		return
	}
	i := slices.IndexFunc(cur.Steps, func(s status.Step) bool { return s.Name == ref.Step })
	if i < 0 {
		return
	}
	nb := *cur
	nb.Steps = slices.Clone(cur.Steps)
	st := &nb.Steps[i]
	st.Logs = slices.Clone(st.Logs)
	if j := slices.IndexFunc(st.Logs, func(l status.LogRef) bool { return l.Name == ref.Name }); j >= 0 {
		st.Logs[j] = ref
	} else {
		st.Logs = append(st.Logs, ref)
	}
	m.replace(&nb)
}

func (m *Memory) find(builder string, number int) *status.Build {
	list := m.builds[builder]
	if i, ok := slices.BinarySearchFunc(list, number, func(x *status.Build, n int) int { return cmp.Compare(x.Number, n) }); ok {
		return list[i]
	}
	return nil
}

func (m *Memory) replace(b *status.Build) {
	list := m.builds[b.Builder]
	if i, ok := slices.BinarySearchFunc(list, b.Number, func(x *status.Build, n int) int { return cmp.Compare(x.Number, n) }); ok {
		list[i] = b
	}
}

func (m *Memory) addChange(c status.Change) status.Change {
	if c.ID == 0 {
		c.ID = m.nextID + 1
	}
	m.nextID = max(m.nextID, c.ID)
	i, found := slices.BinarySearchFunc(m.changes, c.ID, func(x status.Change, id int64) int { return cmp.Compare(x.ID, id) })
	if found {
		m.changes[i] = c
	} else {
		m.changes = slices.Insert(m.changes, i, c)
	}
	if over := len(m.changes) - m.opts.Changes; over > 0 {
		m.changes = slices.Delete(m.changes, 0, over)
	}
	if c.Author != "" && m.users[c.Author] == nil {
		name, email := status.SplitAuthor(c.Author)
		u := &status.User{ID: int64(len(m.users) + 1), Name: c.Author, FullName: name, Email: email,
			Attributes: map[string]string{"author": c.Author}}
		m.users[c.Author] = u
	}
	return c
}

// AddUser records a user (from the host's user database); users are also
// created from change authors.
func (m *Memory) AddUser(u status.User) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u.ID == 0 {
		u.ID = int64(len(m.users) + 1)
	}
	m.users[u.Name] = &u
}

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
	if len(q.Builders) > 0 {
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
