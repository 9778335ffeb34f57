package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/heraldci/herald/status"
)

// Apply records e; a Hub calls it inside Publish (see status.Ledger). It
// works in memory only and never waits for the disk: a Memory made by
// OpenMemory writes to its file in the background (see
// MemoryOptions.PersistDelay).
//
// Apply fills in, on e itself, what every reporter must agree on, replacing
// the subject pointers it changes with copies (the values the host handed
// over are not modified):
//   - a ChangeAdded change with ID 0 gets the next ID, and one with no When
//     gets the event's Time (the time it was received);
//   - a change with ID 0 in the source stamps of a build, build request or
//     build set gets the ID (and, when it has none, the When) of the newest
//     stored change with the same revision, repository and branch (a field
//     empty on either side matches), so pages never link a change 0.
//
// Apply returns an error, and records nothing, for an event it cannot
// record: one without the subject its kind needs, or a step or log of a
// build it does not hold (no BuildStarted was applied, or retention dropped
// it). After Close, a Memory made by OpenMemory records nothing and returns
// an error.
func (m *Memory) Apply(e *status.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.file != nil && m.file.closed {
		return fmt.Errorf("store: %v applied after Close: not recorded", e.Kind)
	}
	if err := m.apply(e); err != nil {
		return err
	}
	if m.file != nil {
		m.file.applied++
		m.file.wake()
	}
	return nil
}

var errNoSubject = errors.New("the event lacks the subject its kind needs")

func (m *Memory) apply(e *status.Event) error {
	switch e.Kind {
	case status.BuilderAdded, status.BuilderChanged:
		if e.Builder == nil {
			return noSubject(e, "Builder")
		}
		b := *e.Builder
		if b.Master == "" {
			b.Master = e.Master
		}
		m.builders[b.Name] = &b
		m.markBuilder(b.Name)
		if e.Kind == status.BuilderAdded {
			m.addActivity(e)
		}
	case status.BuilderRemoved:
		if e.Builder == nil {
			return noSubject(e, "Builder")
		}
		delete(m.builders, e.Builder.Name)
		m.markBuilder(e.Builder.Name)
		m.addActivity(e)
	case status.RequestSubmitted, status.RequestCancelled:
		if e.Request == nil {
			return noSubject(e, "Request")
		}
		if ss, ok := m.linkSources(e.Request.Sources); ok {
			r := *e.Request
			r.Sources = ss
			e.Request = &r
		}
		if e.Kind == status.RequestSubmitted {
			m.pending[e.Request.ID] = *e.Request
		} else {
			delete(m.pending, e.Request.ID)
		}
	case status.BuildSetSubmitted, status.BuildSetFinished:
		if e.BuildSet == nil {
			return noSubject(e, "BuildSet")
		}
		if ss, ok := m.linkSources(e.BuildSet.Sources); ok {
			bs := *e.BuildSet
			bs.Sources = ss
			e.BuildSet = &bs
		}
		m.sets[e.BuildSet.ID] = e.BuildSet
	case status.BuildStarted, status.BuildFinished:
		if e.Build == nil {
			return noSubject(e, "Build")
		}
		m.linkBuild(e)
		m.putBuild(e.Build, e.Master)
		if e.Kind == status.BuildFinished {
			m.noteFinished(e.Build)
		} else {
			m.noteStarted(e.Build)
		}
	case status.StepStarted, status.StepTextChanged, status.StepFinished:
		if e.Build == nil || e.Step == nil {
			return noSubject(e, "Build and Step")
		}
		if m.find(e.Build.Builder, e.Build.Number) == nil {
			return unknownBuild(e)
		}
		m.linkBuild(e)
		m.putStep(e.Build, *e.Step)
	case status.LogStarted, status.LogAppended, status.LogFinished:
		if e.Log == nil {
			return noSubject(e, "Log")
		}
		cur := m.find(e.Log.Builder, e.Log.Build)
		if cur == nil {
			return unknownBuild(e)
		}
		if !slices.ContainsFunc(cur.Steps, func(s status.Step) bool { return s.Name == e.Log.Step }) {
			if e.Step == nil || e.Step.Name != e.Log.Step {
				return fmt.Errorf("store: %v of %s #%d: no step %q in the build and none in the event",
					e.Kind, e.Log.Builder, e.Log.Build, e.Log.Step)
			}
			m.putStep(cur, *e.Step)
		}
		if e.Build != nil {
			m.linkBuild(e)
		}
		m.putLog(e)
	case status.ChangeAdded:
		if e.Change == nil {
			return noSubject(e, "Change")
		}
		c := e.Change.Clone()
		if c.When.IsZero() {
			c.When = eventTime(e)
		}
		c = m.addChange(c)
		m.markChange(c.ID)
		e.Change = &c
	case status.WorkerConnected, status.WorkerDisconnected:
		if e.Worker == nil {
			return noSubject(e, "Worker")
		}
		w := *e.Worker
		w.Connected = e.Kind == status.WorkerConnected
		if w.LastSeen.IsZero() {
			w.LastSeen = eventTime(e)
		}
		if w.Master == "" {
			w.Master = e.Master
		}
		m.workers[w.Name] = &w
		m.markWorker(w.Name)
		m.addActivity(e)
	case status.MasterStarted, status.MasterStopping:
		m.addActivity(e)
	default:
		return fmt.Errorf("store: event of unknown kind %v: not recorded", e.Kind)
	}
	return nil
}

func noSubject(e *status.Event, what string) error {
	return fmt.Errorf("store: %v event without its %s: not recorded: %w", e.Kind, what, errNoSubject)
}

func unknownBuild(e *status.Event) error {
	builder, number := "", 0
	if e.Log != nil {
		builder, number = e.Log.Builder, e.Log.Build
	} else {
		builder, number = e.Build.Builder, e.Build.Number
	}
	return fmt.Errorf("store: %v of %s #%d: no such build (its buildStarted was not applied, or retention dropped it): not recorded",
		e.Kind, builder, number)
}

// eventTime is when e happened: its Time, set by the Hub, or now for events
// applied directly.
func eventTime(e *status.Event) time.Time {
	if e.Time.IsZero() {
		return time.Now()
	}
	return e.Time
}

// linkBuild gives the changes of e.Build's source stamps their stored IDs,
// replacing e.Build with a copy when one changed.
func (m *Memory) linkBuild(e *status.Event) {
	if ss, ok := m.linkSources(e.Build.Sources); ok {
		b := *e.Build
		b.Sources = ss
		e.Build = &b
	}
}

// linkSources returns a copy of ss in which changes with ID 0 carry the ID
// of the stored change they are, and true, or ss and false when there was
// nothing to fill in.
func (m *Memory) linkSources(ss []status.SourceStamp) ([]status.SourceStamp, bool) {
	var out []status.SourceStamp // a copy, once something is filled in
	for i, s := range ss {
		copied := false // out[i].Changes is a copy
		for j, c := range s.Changes {
			if c.ID != 0 {
				continue
			}
			stored := m.storedChange(c)
			if stored == nil {
				continue
			}
			if out == nil {
				out = slices.Clone(ss)
			}
			if !copied {
				out[i].Changes, copied = slices.Clone(s.Changes), true
			}
			out[i].Changes[j].ID = stored.ID
			if c.When.IsZero() {
				out[i].Changes[j].When = stored.When
			}
		}
	}
	if out == nil {
		return ss, false
	}
	return out, true
}

// storedChange returns the newest stored change that c (a change without
// an ID) is: same revision, and same repository and branch where both say.
func (m *Memory) storedChange(c status.Change) *status.Change {
	for i := len(m.changes) - 1; i >= 0; i-- {
		x := &m.changes[i]
		if status.SameRevision(x.Revision, c.Revision) &&
			(x.Repository == "" || c.Repository == "" || x.Repository == c.Repository) &&
			(x.Branch == "" || c.Branch == "" || x.Branch == c.Branch) {
			return x
		}
	}
	return nil
}

// putBuild stores b (an immutable snapshot from an event), keeping steps the
// store knows of when b has none.
func (m *Memory) putBuild(b *status.Build, master string) {
	if _, ok := m.builders[b.Builder]; !ok {
		m.builders[b.Builder] = &status.Builder{Name: b.Builder, Tags: b.Tags, Workers: []string{b.Worker}, Master: master}
		m.markBuilder(b.Builder)
	}
	m.markBuild(buildKey{b.Builder, b.Number})
	list := m.builds[b.Builder]
	i, found := slices.BinarySearchFunc(list, b.Number, byNumber)
	steps, sized := m.logSizes(b.Steps)
	if found && len(b.Steps) == 0 && len(list[i].Steps) > 0 || b.Master == "" && master != "" || sized {
		nb := *b
		nb.Steps = steps
		if found && len(b.Steps) == 0 {
			nb.Steps = list[i].Steps
		}
		if nb.Master == "" {
			nb.Master = master
		}
		b = &nb
	}
	m.track(b)
	if found {
		list[i] = b
		return
	}
	list = slices.Insert(list, i, b)
	if over := len(list) - m.opts.BuildsPerBuilder; over > 0 {
		for _, old := range list[:over] {
			m.dropLogs(old)
			m.markBuild(buildKey{old.Builder, old.Number})
			delete(m.running, buildKey{old.Builder, old.Number})
		}
		list = slices.Delete(list, 0, over)
	}
	m.builds[b.Builder] = list
}

// track keeps m.running in step with b, a build being stored.
func (m *Memory) track(b *status.Build) {
	if k := (buildKey{b.Builder, b.Number}); b.Done() {
		delete(m.running, k)
	} else {
		m.running[k] = struct{}{}
	}
}

func byNumber(x *status.Build, n int) int { return cmp.Compare(x.Number, n) }

// addLog keeps d as the log k, listed under its build so that it leaves
// with the build whatever the build's steps say (a host's BuildFinished
// may carry steps without their logs).
func (m *Memory) addLog(k logKey, d *logData) {
	m.logs[k] = d
	bk := buildKey{k.builder, k.build}
	m.logsOf[bk] = append(m.logsOf[bk], k)
}

func (m *Memory) dropLogs(b *status.Build) {
	k := buildKey{b.Builder, b.Number}
	for _, lk := range m.logsOf[k] {
		delete(m.logs, lk)
	}
	delete(m.logsOf, k)
}

// putStep replaces (by number and name) or appends step in a copy of the
// stored build b names.
func (m *Memory) putStep(b *status.Build, step status.Step) {
	cur := m.find(b.Builder, b.Number)
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
	nb.Steps, _ = m.logSizes(nb.Steps)
	m.replace(&nb)
}

// logSizes returns steps with the Size of each log the store holds set to
// the size of its text there, and whether that changed anything; steps is
// copied, not modified.
func (m *Memory) logSizes(steps []status.Step) ([]status.Step, bool) {
	out := steps
	for i, st := range steps {
		for j, l := range st.Logs {
			d := m.logs[logKey{l.Builder, l.Build, l.Step, l.Name}]
			if d == nil || d.size == l.Size {
				continue
			}
			if &out[0] == &steps[0] {
				out = slices.Clone(steps)
			}
			if &out[i].Logs[0] == &steps[i].Logs[0] {
				out[i].Logs = slices.Clone(st.Logs)
			}
			out[i].Logs[j].Size = d.size
		}
	}
	return out, len(steps) > 0 && &out[0] != &steps[0]
}

func (m *Memory) putLog(e *status.Event) {
	ref := *e.Log
	k := logKey{ref.Builder, ref.Build, ref.Step, ref.Name}
	d := m.logs[k]
	if d == nil {
		d = &logData{}
		m.addLog(k, d)
		ref.Size = 0
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
		m.markLog(k)
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
	if i, ok := slices.BinarySearchFunc(list, number, byNumber); ok {
		return list[i]
	}
	return nil
}

// replace swaps in a new snapshot of a stored build.
func (m *Memory) replace(b *status.Build) {
	list := m.builds[b.Builder]
	if i, ok := slices.BinarySearchFunc(list, b.Number, byNumber); ok {
		list[i] = b
		m.markBuild(buildKey{b.Builder, b.Number})
		m.track(b)
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

// addActivity keeps e (a waterfall event about no single build).
func (m *Memory) addActivity(e *status.Event) {
	a := status.Event{Kind: e.Kind, Time: eventTime(e), Seq: e.Seq, Master: e.Master, ID: e.ID,
		Builder: e.Builder, Worker: e.Worker}
	m.activity = append(m.activity, activityEntry{seq: m.nextAct, e: a})
	m.nextAct++
	if over := len(m.activity) - m.opts.Activity; over > 0 {
		m.activity = slices.Delete(m.activity, 0, over)
	}
	m.markActivity()
}

// AddUser records a user (from the host's user database); users are also
// created from change authors. Users added here are kept in memory only.
func (m *Memory) AddUser(u status.User) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u.ID == 0 {
		u.ID = int64(len(m.users) + 1)
	}
	m.users[u.Name] = &u
}
