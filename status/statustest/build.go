// Package statustest is Herald's public test kit: fluent builders of fake
// builds, changes and events (FakeBuild), a Recorder reporter (also a
// status.Publisher), a fake History (a status.Ledger) and Control, and the
// contracts every target passes: Conformance for any Reporter,
// HTTPConformance for one that talks HTTP, HistoryConformance for a History.
// Host authors use it to test their own reporters with fake builds, for
// example with testify:
//
//	func TestPager(t *testing.T) {
//		statustest.Conformance(t, func() status.Reporter { return newPager(t) })
//
//		p := newPager(t)
//		hub := status.NewHub(status.HubOptions{History: statustest.NewHistory()})
//		require.NoError(t, hub.Add(p))
//		for _, e := range statustest.NewBuild("linux").Number(7).Step("test", status.Failure).Failed().Events() {
//			hub.Publish(e)
//		}
//		require.NoError(t, hub.Shutdown(context.Background()))
//		assert.Equal(t, []string{"linux #7 failed"}, p.pages)
//	}
package statustest

import (
	"fmt"
	"time"

	"github.com/heraldci/herald/status"
)

// Epoch is the fixed start time of fake builds, so rendered output is stable.
var Epoch = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

// FakeBuild makes a fake *status.Build. Methods chain; Build returns a
// fresh copy each time.
type FakeBuild struct{ b status.Build }

// NewBuild starts a build of builder number 1, started at Epoch, running,
// with one source stamp on branch main.
func NewBuild(builder string) *FakeBuild {
	return &FakeBuild{b: status.Build{
		Builder: builder,
		Number:  1,
		Worker:  "worker1",
		Reason:  "scheduler",
		Started: Epoch,
		Sources: []status.SourceStamp{{
			Repository: "https://example.org/repo.git",
			Project:    "repo",
			Branch:     "main",
			Revision:   "0123456789abcdef0123456789abcdef01234567",
		}},
	}}
}

func (bb *FakeBuild) Number(n int) *FakeBuild        { bb.b.Number = n; return bb }
func (bb *FakeBuild) Tags(t ...string) *FakeBuild    { bb.b.Tags = t; return bb }
func (bb *FakeBuild) Worker(w string) *FakeBuild     { bb.b.Worker = w; return bb }
func (bb *FakeBuild) Reason(r string) *FakeBuild     { bb.b.Reason = r; return bb }
func (bb *FakeBuild) URL(u string) *FakeBuild        { bb.b.URL = u; return bb }
func (bb *FakeBuild) Text(t ...string) *FakeBuild    { bb.b.Text = t; return bb }
func (bb *FakeBuild) Blame(who ...string) *FakeBuild { bb.b.Blamelist = who; return bb }
func (bb *FakeBuild) BuildSet(id string) *FakeBuild  { bb.b.BuildSetID = id; return bb }
func (bb *FakeBuild) Started(t time.Time) *FakeBuild {
	bb.b.Started = t
	return bb
}

// Property sets a build property.
func (bb *FakeBuild) Property(name string, v any) *FakeBuild {
	if bb.b.Properties == nil {
		bb.b.Properties = map[string]any{}
	}
	bb.b.Properties[name] = v
	return bb
}

// Branch sets the branch of the first source stamp.
func (bb *FakeBuild) Branch(br string) *FakeBuild { bb.b.Sources[0].Branch = br; return bb }

// Revision sets the revision of the first source stamp.
func (bb *FakeBuild) Revision(rev string) *FakeBuild {
	bb.b.Sources[0].Revision = rev
	return bb
}

// Repository sets the repository of the first source stamp.
func (bb *FakeBuild) Repository(repo string) *FakeBuild {
	bb.b.Sources[0].Repository = repo
	return bb
}

// Source adds another source stamp (multi-codebase builds).
func (bb *FakeBuild) Source(s status.SourceStamp) *FakeBuild {
	bb.b.Sources = append(bb.b.Sources, s)
	return bb
}

// NoSources removes every source stamp.
func (bb *FakeBuild) NoSources() *FakeBuild { bb.b.Sources = nil; return bb }

// Change adds a change to the first source stamp and its author to the
// blamelist.
func (bb *FakeBuild) Change(c status.Change) *FakeBuild {
	if c.Revision == "" {
		c.Revision = bb.b.Sources[0].Revision
	}
	if c.Branch == "" {
		c.Branch = bb.b.Sources[0].Branch
	}
	bb.b.Sources[0].Changes = append(bb.b.Sources[0].Changes, c)
	bb.b.Blamelist = append(bb.b.Blamelist, c.Author)
	return bb
}

// Step adds a finished step with one "stdio" log of size bytes.
func (bb *FakeBuild) Step(name string, r status.Result) *FakeBuild {
	n := len(bb.b.Steps)
	start := bb.b.Started.Add(time.Duration(n) * 10 * time.Second)
	bb.b.Steps = append(bb.b.Steps, status.Step{
		Name:     name,
		Number:   n,
		Result:   r,
		Text:     []string{name, r.String()},
		Started:  start,
		Finished: start.Add(10 * time.Second),
		Logs: []status.LogRef{{
			Builder: bb.b.Builder, Build: bb.b.Number, Step: name, Name: "stdio", Size: 0,
		}},
	})
	return bb
}

// Result finishes the build with r, after its steps (or one minute).
func (bb *FakeBuild) Result(r status.Result) *FakeBuild {
	bb.b.Result = r
	end := bb.b.Started.Add(time.Minute)
	if n := len(bb.b.Steps); n > 0 && bb.b.Steps[n-1].Finished.After(end) {
		end = bb.b.Steps[n-1].Finished
	}
	bb.b.Finished = end
	if bb.b.Text == nil {
		bb.b.Text = []string{"build", r.String()}
		if r == status.Failure {
			for _, s := range bb.b.Steps {
				if s.Result == status.Failure {
					bb.b.Text = []string{"failed", s.Name}
					break
				}
			}
		}
	}
	return bb
}

func (bb *FakeBuild) Succeeded() *FakeBuild { return bb.Result(status.Success) }
func (bb *FakeBuild) Failed() *FakeBuild    { return bb.Result(status.Failure) }

// Running clears the result: the build has not finished.
func (bb *FakeBuild) Running() *FakeBuild {
	bb.b.Finished, bb.b.Result, bb.b.Text = time.Time{}, status.Success, nil
	return bb
}

// Build returns a fresh copy of the build, with the log references of its
// steps pointing at it.
func (bb *FakeBuild) Build() *status.Build {
	b := bb.b.Clone()
	for i := range b.Steps {
		for j := range b.Steps[i].Logs {
			b.Steps[i].Logs[j].Builder, b.Steps[i].Logs[j].Build = b.Builder, b.Number
		}
	}
	return b
}

// Events returns the events of the build's life: BuildStarted, StepStarted,
// LogStarted, LogAppended, LogFinished and StepFinished of each step, and
// BuildFinished when the build has finished. Times follow the build's.
func (bb *FakeBuild) Events() []status.Event {
	full := bb.Build()
	cur := full.Clone()
	cur.Steps, cur.Finished, cur.Result, cur.Text = nil, time.Time{}, status.Success, nil
	evs := []status.Event{{Kind: status.BuildStarted, Time: full.Started, Build: cur.Clone()}}
	for i, st := range full.Steps {
		running := st
		running.Finished, running.Result, running.Logs = time.Time{}, status.Success, nil
		cur.Steps = append(cur.Steps, running)
		evs = append(evs, status.Event{Kind: status.StepStarted, Time: st.Started, Build: cur.Clone(), Step: &running})
		for _, l := range st.Logs {
			line := fmt.Sprintf("%s: output of %s\n", st.Name, l.Name)
			l.Size = 0
			s2 := running
			evs = append(evs, status.Event{Kind: status.LogStarted, Time: st.Started, Build: cur.Clone(), Step: &s2, Log: &l})
			l2 := l
			l2.Size = int64(len(line))
			evs = append(evs, status.Event{Kind: status.LogAppended, Time: st.Started, Build: cur.Clone(), Step: &s2, Log: &l2, Chunk: line})
			evs = append(evs, status.Event{Kind: status.LogFinished, Time: st.Finished, Build: cur.Clone(), Step: &s2, Log: &l2})
			cur.Steps[i].Logs = append(cur.Steps[i].Logs, l2)
		}
		done := st
		done.Logs = cur.Steps[i].Logs
		cur.Steps[i] = done
		evs = append(evs, status.Event{Kind: status.StepFinished, Time: st.Finished, Build: cur.Clone(), Step: &done})
	}
	if full.Done() {
		fin := cur.Clone()
		fin.Finished, fin.Result, fin.Text = full.Finished, full.Result, full.Text
		evs = append(evs, status.Event{Kind: status.BuildFinished, Time: full.Finished, Build: fin})
	}
	return evs
}

// NewChange returns a change by author with one file, at Epoch.
func NewChange(id int64, author string) status.Change {
	return status.Change{
		ID:         id,
		Author:     author,
		Revision:   fmt.Sprintf("%040x", id),
		Branch:     "main",
		Repository: "https://example.org/repo.git",
		Project:    "repo",
		When:       Epoch,
		Files:      []string{"main.go"},
		Comments:   fmt.Sprintf("change %d", id),
	}
}

// EveryKind returns one event of every kind with its subjects set, about
// build (which may be running or finished).
func EveryKind(b *status.Build) []status.Event {
	step := status.Step{Name: "compile", Number: 0, Started: b.Started, Text: []string{"compile"}}
	log := status.LogRef{Builder: b.Builder, Build: b.Number, Step: "compile", Name: "stdio", Size: 6}
	builder := &status.Builder{Name: b.Builder, Tags: b.Tags, State: status.Building, Workers: []string{b.Worker}}
	req := &status.BuildRequest{ID: "1", BuildSetID: "1", Builder: b.Builder, Reason: b.Reason, Submitted: b.Started, Sources: b.Sources}
	bs := &status.BuildSet{ID: "1", Reason: b.Reason, Sources: b.Sources, Builders: []string{b.Builder}, Submitted: b.Started}
	bsDone := *bs
	bsDone.Finished, bsDone.Result, bsDone.Builds = b.Started.Add(time.Minute), b.Result, []*status.Build{b}
	ch := NewChange(1, "Alice <alice@example.org>")
	w := &status.Worker{Name: b.Worker, Host: "host1", Connected: true, Builders: []string{b.Builder}}
	var evs []status.Event
	for _, k := range status.AllKinds() {
		e := status.Event{Kind: k, Time: b.Started}
		switch k {
		case status.BuilderAdded, status.BuilderChanged, status.BuilderRemoved:
			e.Builder = builder
		case status.RequestSubmitted, status.RequestCancelled:
			e.Request = req
		case status.BuildSetSubmitted:
			e.BuildSet = bs
		case status.BuildSetFinished:
			e.BuildSet = &bsDone
		case status.BuildStarted, status.BuildFinished:
			e.Build = b
		case status.StepStarted, status.StepTextChanged, status.StepFinished:
			e.Build, e.Step = b, &step
		case status.LogStarted, status.LogAppended, status.LogFinished:
			e.Build, e.Step, e.Log = b, &step, &log
			if k == status.LogAppended {
				e.Chunk = "hello\n"
			}
		case status.ChangeAdded:
			e.Change = &ch
		case status.WorkerConnected, status.WorkerDisconnected:
			e.Worker = w
		}
		evs = append(evs, e)
	}
	return evs
}
