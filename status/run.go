package status

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// Publisher is what a host publishes events to: a Hub.
type Publisher interface {
	Publish(e Event)
}

// BuildRun publishes the life of one build in the order reporters and the
// History expect — BuildStarted; StepStarted, StepTextChanged, LogStarted,
// LogAppended, LogFinished and StepFinished for each step; BuildFinished —
// each event carrying a snapshot of the build as it stands, so a master
// need not write event plumbing by hand:
//
//	run := status.StartBuild(hub, &status.Build{Builder: "linux", Number: 7})
//	step := run.StartStep("compile")
//	stdio := step.OpenLog("stdio")
//	cmd.Stdout = stdio // each Write is one LogAppended
//	err := cmd.Run()
//	stdio.Close()
//	step.Finish(status.Success)
//	run.Finish(status.Success)
//
// Its methods are safe for concurrent use; events are published in the
// order the calls are made.
type BuildRun struct {
	p    Publisher
	mu   sync.Mutex
	b    *Build
	open map[logIndex]bool // logs not yet finished
}

type logIndex struct{ step, log int }

// StartBuild publishes BuildStarted for b and returns its run. b is taken
// over: the caller must not modify it afterwards. Started is set to now when
// zero; Finished, Result and Steps are cleared.
func StartBuild(p Publisher, b *Build) *BuildRun {
	b = b.Clone()
	if b.Started.IsZero() {
		b.Started = time.Now()
	}
	b.Finished, b.Result, b.Steps = time.Time{}, Success, nil
	r := &BuildRun{p: p, b: b, open: make(map[logIndex]bool)}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.Publish(Event{Kind: BuildStarted, Time: b.Started, Build: b.Clone()})
	return r
}

// ResumeBuild returns the run of b, a build whose start was published
// before — by an earlier process of the master, say — and that has not
// finished, so that the host can go on with it: start more steps, or
// Finish it. It publishes nothing. b is copied. Its steps that have not
// finished stay running until Finish ends them; its logs count as finished
// (the run cannot write to them). A finished b gives a run whose Finish
// does nothing.
func ResumeBuild(p Publisher, b *Build) *BuildRun {
	return &BuildRun{p: p, b: b.Clone(), open: make(map[logIndex]bool)}
}

// Build returns a copy of the build as it stands.
func (r *BuildRun) Build() *Build {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b.Clone()
}

// StartStep publishes StepStarted for a new step named name.
func (r *BuildRun) StartStep(name string) *StepRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.b.Steps = append(r.b.Steps, Step{Name: name, Number: len(r.b.Steps), Started: now})
	s := &StepRun{r: r, i: len(r.b.Steps) - 1}
	r.publish(StepStarted, now, s.i, nil, "")
	return s
}

// Finish ends the build now with result and text: it finishes the steps
// and logs still open (a running step as Exception, with "interrupted"
// after its text), then publishes BuildFinished. Later calls do nothing.
func (r *BuildRun) Finish(result Result, text ...string) {
	r.FinishAt(time.Now(), result, text...)
}

// FinishAt is Finish at t rather than now, for a build known to have ended
// earlier (a resumed build whose master stopped at t). A t before the start
// of the build or of a step still running is taken as the latest of those
// starts, so that nothing ends before it started.
func (r *BuildRun) FinishAt(t time.Time, result Result, text ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.b.Done() {
		return
	}
	if t.Before(r.b.Started) {
		t = r.b.Started
	}
	for _, st := range r.b.Steps {
		if !st.Done() && t.Before(st.Started) {
			t = st.Started
		}
	}
	for i, st := range r.b.Steps {
		if !st.Done() {
			r.finishStep(i, t, Exception, slices.Concat(st.Text, []string{"interrupted"}))
		}
	}
	r.b.Finished, r.b.Result, r.b.Text = t, result, text
	r.p.Publish(Event{Kind: BuildFinished, Time: t, Build: r.b.Clone()})
}

// publish sends an event about step i (and log, if any); r.mu is held.
func (r *BuildRun) publish(k Kind, t time.Time, i int, log *LogRef, chunk string) {
	st := r.b.Steps[i]
	e := Event{Kind: k, Time: t, Build: r.b.Clone(), Step: &st, Chunk: chunk}
	if log != nil {
		l := *log
		e.Log = &l
	}
	r.p.Publish(e)
}

func (r *BuildRun) finishStep(i int, now time.Time, result Result, text []string) {
	st := &r.b.Steps[i]
	for j := range st.Logs {
		if r.open[logIndex{i, j}] {
			delete(r.open, logIndex{i, j})
			r.publish(LogFinished, now, i, &st.Logs[j], "")
		}
	}
	st.Finished, st.Result = now, result
	if text != nil {
		st.Text = text
	}
	r.publish(StepFinished, now, i, nil, "")
}

// StepRun is one step of a BuildRun.
type StepRun struct {
	r *BuildRun
	i int
}

// SetText publishes StepTextChanged with the step's new text.
func (s *StepRun) SetText(text ...string) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.b.Steps[s.i].Done() {
		return
	}
	s.r.b.Steps[s.i].Text = text
	s.r.publish(StepTextChanged, time.Now(), s.i, nil, "")
}

// OpenLog publishes LogStarted for a new log of the step and returns a
// writer whose every Write publishes LogAppended.
func (s *StepRun) OpenLog(name string) *LogWriter {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	b := s.r.b
	st := &b.Steps[s.i]
	st.Logs = append(st.Logs, LogRef{Builder: b.Builder, Build: b.Number, Step: st.Name, Name: name})
	j := len(st.Logs) - 1
	s.r.open[logIndex{s.i, j}] = true
	s.r.publish(LogStarted, time.Now(), s.i, &st.Logs[j], "")
	return &LogWriter{s: s, j: j}
}

// Finish publishes LogFinished for the step's open logs, then StepFinished
// with result and, if given, text. Later calls do nothing.
func (s *StepRun) Finish(result Result, text ...string) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.b.Steps[s.i].Done() {
		return
	}
	s.r.finishStep(s.i, time.Now(), result, text)
}

// ErrLogClosed is returned by writes to a finished log.
var ErrLogClosed = errors.New("status: write to a finished log")

// LogWriter is an open log of a StepRun. It is an io.WriteCloser.
type LogWriter struct {
	s *StepRun
	j int
}

// Write publishes p as one LogAppended chunk.
func (l *LogWriter) Write(p []byte) (int, error) {
	r := l.s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.open[logIndex{l.s.i, l.j}] {
		return 0, ErrLogClosed
	}
	ref := &r.b.Steps[l.s.i].Logs[l.j]
	if len(p) == 0 {
		return 0, nil
	}
	ref.Size += int64(len(p))
	r.publish(LogAppended, time.Now(), l.s.i, ref, string(p))
	return len(p), nil
}

// Close publishes LogFinished. Later calls do nothing.
func (l *LogWriter) Close() error {
	r := l.s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open[logIndex{l.s.i, l.j}] {
		delete(r.open, logIndex{l.s.i, l.j})
		r.publish(LogFinished, time.Now(), l.s.i, &r.b.Steps[l.s.i].Logs[l.j], "")
	}
	return nil
}
