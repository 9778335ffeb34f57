// Package sim is a simulated CI master for Herald's examples: builders run
// builds whose steps grow logs line by line, with random results and changes
// by random authors, publishing every event to a status.Hub. A Master is also
// a status.Control, and takes webhook changes through OnChanges.
package sim

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/heraldci/herald/status"
)

// Master is the simulated CI master: it runs builds one after another and
// publishes every event. Its methods are safe for concurrent use.
type Master struct {
	hub   *status.Hub
	rng   *rand.Rand
	speed float64

	builders []status.Builder
	workers  []status.Worker

	mu       sync.Mutex
	queue    []request // forced builds and webhook changes waiting
	numbers  map[string]int
	changeID int64
	reqID    int
	stop     map[string]string // builder → reason: stop the running build
	paused   map[string]bool
	shutdown bool
	wake     chan struct{}
}

type request struct {
	id      string // the request and build set ID; "" until the build starts
	builder string
	reason  string
	who     string
	changes []status.Change
	branch  string
	rev     string
	props   map[string]any
}

var (
	authors = []string{"Alice Liddell <alice@example.org>", "Bob Marley <bob@example.org>",
		"Carol Danvers <carol@example.org>", "Dave Bowman <dave@example.org>"}
	files = []string{"main.go", "hub.go", "README.md", "docs/index.md", "web/page.go", "Makefile"}
	verbs = []string{"fix", "speed up", "document", "refactor", "test", "simplify"}
	nouns = []string{"the hub", "retries", "the waterfall", "mail templates", "IRC colours", "webhooks"}
	steps = []string{"checkout", "compile", "test", "lint", "package", "upload"}
)

// Options configures a Master.
type Options struct {
	Seed  uint64  // random seed: the same seed gives the same builds
	Speed float64 // time factor (2: twice as fast; default 1)
	// Builders names the builders (default linux, windows, docs); each gets
	// the tags ci (and unix for linux) or docs.
	Builders []string
	// LastNumbers continues build numbers after a restart: the last
	// number of each builder so far.
	LastNumbers map[string]int
}

// New returns a Master publishing to hub.
func New(hub *status.Hub, o Options) *Master {
	if o.Speed <= 0 {
		o.Speed = 1
	}
	seed, speed := o.Seed, o.Speed
	s := &Master{
		hub:     hub,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		speed:   speed,
		numbers: map[string]int{},
		stop:    map[string]string{},
		paused:  map[string]bool{},
		wake:    make(chan struct{}, 1),
	}
	s.builders = []status.Builder{
		{Name: "linux", Tags: []string{"ci", "unix"}, Workers: []string{"worker-a", "worker-b"}, Description: "Debian, go test -race"},
		{Name: "windows", Tags: []string{"ci"}, Workers: []string{"worker-b"}, Description: "Windows Server, go test"},
		{Name: "docs", Tags: []string{"docs"}, Workers: []string{"worker-a"}, Description: "builds the manual"},
	}
	s.workers = []status.Worker{
		{Name: "worker-a", Host: "debian-12 amd64", Admin: "ops@example.org", Version: "herald-demo", Builders: []string{"linux", "docs"}},
		{Name: "worker-b", Host: "windows-2022 amd64", Admin: "ops@example.org", Version: "herald-demo", Builders: []string{"linux", "windows"}},
	}
	if len(o.Builders) > 0 {
		s.builders = s.builders[:0]
		for i, name := range o.Builders {
			w := s.workers[i%len(s.workers)].Name
			s.builders = append(s.builders, status.Builder{Name: name, Tags: []string{"ci"}, Workers: []string{w}})
		}
		for i := range s.workers {
			s.workers[i].Builders = nil
		}
	}
	maps.Copy(s.numbers, o.LastNumbers)
	return s
}

// Run publishes the master's start, then runs builds until ctx ends, the
// master is shut down, or n builds finished (n 0: forever).
func (s *Master) Run(ctx context.Context, n int, onBuild func(*status.Build)) {
	s.hub.Publish(status.Event{Kind: status.MasterStarted})
	for i := range s.builders {
		b := s.builders[i]
		s.hub.Publish(status.Event{Kind: status.BuilderAdded, Builder: &b})
	}
	for i := range s.workers {
		w := s.workers[i]
		w.Connected = true
		s.hub.Publish(status.Event{Kind: status.WorkerConnected, Worker: &w})
	}
	for done := 0; n == 0 || done < n; done++ {
		req, ok := s.next(ctx)
		if !ok {
			break
		}
		b := s.build(ctx, req)
		if onBuild != nil {
			onBuild(b)
		}
	}
	s.hub.Publish(status.Event{Kind: status.MasterStopping})
}

// next returns the next request: a queued one, else a fresh change on a
// random builder after an idle pause.
func (s *Master) next(ctx context.Context) (request, bool) {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return request{}, false
	}
	if len(s.queue) > 0 {
		r := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		return r, true
	}
	s.mu.Unlock()
	if !s.sleep(ctx, 1500*time.Millisecond) {
		return request{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return request{}, false
	}
	if len(s.queue) > 0 { // something arrived while we waited
		r := s.queue[0]
		s.queue = s.queue[1:]
		return r, true
	}
	c := s.newChangeLocked()
	b := s.builders[s.rng.IntN(len(s.builders))]
	return request{builder: b.Name, reason: "scheduler: change " + fmt.Sprint(c.ID), changes: []status.Change{c}}, true
}

func (s *Master) newChangeLocked() status.Change {
	s.changeID++
	c := status.Change{
		ID:         s.changeID,
		Author:     authors[s.rng.IntN(len(authors))],
		Revision:   fmt.Sprintf("%016x%016x%08x", s.rng.Uint64(), s.rng.Uint64(), s.rng.Uint32()),
		Branch:     "main",
		Repository: "https://github.com/heraldci/herald",
		Project:    "herald",
		When:       time.Now(),
		Comments:   fmt.Sprintf("%s %s", verbs[s.rng.IntN(len(verbs))], nouns[s.rng.IntN(len(nouns))]),
	}
	for range 1 + s.rng.IntN(3) {
		c.Files = append(c.Files, files[s.rng.IntN(len(files))])
	}
	s.hub.Publish(status.Event{Kind: status.ChangeAdded, Change: &c})
	return c
}

// sleep waits d scaled by speed; false when ctx ended first.
func (s *Master) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(time.Duration(float64(d) / s.speed))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.wake:
		return true
	case <-ctx.Done():
		return false
	}
}

// build runs one build through its steps and returns it finished.
func (s *Master) build(ctx context.Context, r request) *status.Build {
	s.mu.Lock()
	s.numbers[r.builder]++
	num := s.numbers[r.builder]
	reqID := r.id // set when forced, so ForceBuild could return it
	if reqID == "" {
		s.reqID++
		reqID = fmt.Sprint(s.reqID)
	}
	outcome := s.rng.Float64()
	nsteps := 3 + s.rng.IntN(3)
	s.mu.Unlock()

	var spec status.Builder
	for _, b := range s.builders {
		if b.Name == r.builder {
			spec = b
		}
	}
	src := status.SourceStamp{Repository: "https://github.com/heraldci/herald", Project: "herald",
		Branch: cmp.Or(r.branch, "main"), Revision: r.rev, Changes: r.changes}
	if len(r.changes) > 0 {
		last := r.changes[len(r.changes)-1]
		src.Revision, src.Branch = cmp.Or(r.rev, last.Revision), cmp.Or(r.branch, last.Branch)
		if last.Repository != "" {
			src.Repository = last.Repository
		}
	}
	var blame []string
	for _, c := range r.changes {
		blame = append(blame, c.Author)
	}
	props := map[string]any{"owner": r.who}
	for k, v := range r.props {
		props[k] = v
	}
	req := status.BuildRequest{ID: reqID, BuildSetID: reqID, Builder: r.builder, Reason: r.reason, Submitted: time.Now(), Sources: []status.SourceStamp{src}}
	bs := status.BuildSet{ID: reqID, Reason: r.reason, Sources: req.Sources, Builders: []string{r.builder}, Submitted: req.Submitted}
	s.hub.Publish(status.Event{Kind: status.BuildSetSubmitted, BuildSet: &bs})
	s.hub.Publish(status.Event{Kind: status.RequestSubmitted, Request: &req})

	b := &status.Build{
		Builder: r.builder, Number: num, Tags: spec.Tags, Worker: spec.Workers[s.rng.IntN(len(spec.Workers))],
		Reason: r.reason, Started: time.Now(), Properties: props, Sources: []status.SourceStamp{src},
		Blamelist: blame, BuildSetID: reqID,
	}
	s.hub.Publish(status.Event{Kind: status.RequestCancelled, Request: &req}) // claimed: no longer pending
	s.publishBuild(status.BuildStarted, b, nil)
	building := spec
	building.State = status.Building
	s.hub.Publish(status.Event{Kind: status.BuilderChanged, Builder: &building})

	result := status.Success
	for i := range nsteps {
		st := status.Step{Name: steps[i], Number: i, Started: time.Now(), Text: []string{steps[i]}}
		b = s.withStep(b, st)
		s.publishBuild(status.StepStarted, b, ptr(st))
		ref := status.LogRef{Builder: b.Builder, Build: b.Number, Step: st.Name, Name: "stdio"}
		s.hub.Publish(status.Event{Kind: status.LogStarted, Build: b, Step: ptr(st), Log: ptr(ref)})
		lines := 3 + s.rng.IntN(6)
		stopped := ""
		for l := range lines {
			if !s.sleep(ctx, 150*time.Millisecond) {
				stopped = "master stopping"
				break
			}
			if why := s.takeStop(b.Builder); why != "" {
				stopped = why
				break
			}
			chunk := fmt.Sprintf("[%s] %s: line %d of %d\n", time.Now().Format("15:04:05.000"), st.Name, l+1, lines)
			ref.Size += int64(len(chunk))
			s.hub.Publish(status.Event{Kind: status.LogAppended, Build: b, Step: ptr(st), Log: ptr(ref), Chunk: chunk})
		}
		st.Result = status.Success
		switch {
		case stopped != "":
			st.Result = status.Cancelled
		case i == nsteps-1 && outcome < 0.15:
			st.Result = status.Failure
		case i == nsteps-1 && outcome < 0.20:
			st.Result = status.Exception
		case i == 1 && outcome < 0.35:
			st.Result = status.Warnings
		}
		st.Finished = time.Now()
		st.Text = []string{st.Name, st.Result.String()}
		s.hub.Publish(status.Event{Kind: status.LogFinished, Build: b, Step: ptr(st), Log: ptr(ref)})
		st.Logs = []status.LogRef{ref}
		b = s.withStep(b, st)
		s.publishBuild(status.StepFinished, b, ptr(st))
		result = status.Worst(result, st.Result)
		if stopped != "" {
			b = b.Clone()
			b.Text = []string{"stopped:", stopped}
			break
		}
	}
	done := b.Clone()
	done.Result, done.Finished = result, time.Now()
	if done.Text == nil {
		done.Text = []string{"build", "successful"}
		if result != status.Success {
			done.Text = []string{result.String()}
		}
	}
	s.publishBuild(status.BuildFinished, done, nil)
	fbs := bs
	fbs.Finished, fbs.Result, fbs.Builds = done.Finished, result, []*status.Build{done}
	s.hub.Publish(status.Event{Kind: status.BuildSetFinished, BuildSet: &fbs})
	idle := spec
	s.hub.Publish(status.Event{Kind: status.BuilderChanged, Builder: &idle})
	return done
}

// withStep returns a copy of b with st replacing its step of the same number
// (or appended): published builds are never modified.
func (s *Master) withStep(b *status.Build, st status.Step) *status.Build {
	nb := b.Clone()
	if st.Number < len(nb.Steps) {
		nb.Steps[st.Number] = st
	} else {
		nb.Steps = append(nb.Steps, st)
	}
	return nb
}

func (s *Master) publishBuild(k status.Kind, b *status.Build, st *status.Step) {
	s.hub.Publish(status.Event{Kind: k, Build: b, Step: st})
}

func (s *Master) takeStop(builder string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	why, ok := s.stop[builder]
	if ok {
		delete(s.stop, builder)
	}
	return why
}

func (s *Master) enqueue(r request) {
	s.mu.Lock()
	s.queue = append(s.queue, r)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// OnChanges takes changes from webhooks: one build per change on every
// builder, as a scheduler would.
func (s *Master) OnChanges(ctx context.Context, dialect string, cs []status.Change) error {
	for _, c := range cs {
		s.mu.Lock()
		s.changeID++
		c.ID = s.changeID
		s.mu.Unlock()
		s.hub.Publish(status.Event{Kind: status.ChangeAdded, Change: &c})
		for _, b := range s.builders {
			s.enqueue(request{builder: b.Name, reason: dialect + " webhook", changes: []status.Change{c}})
		}
	}
	return nil
}

func (s *Master) knows(builder string) bool {
	for _, b := range s.builders {
		if b.Name == builder {
			return true
		}
	}
	return false
}

// The status.Control of the demo master.

func (s *Master) ForceBuild(ctx context.Context, r status.ForceRequest) (*status.BuildRequest, error) {
	if !s.knows(r.Builder) {
		return nil, fmt.Errorf("force build: builder %q: %w", r.Builder, status.ErrNotFound)
	}
	props := map[string]any{}
	for k, v := range r.Properties {
		props[k] = v
	}
	s.mu.Lock()
	s.reqID++
	id := fmt.Sprint(s.reqID)
	s.mu.Unlock()
	req := request{id: id, builder: r.Builder, who: r.Who, branch: r.Branch, rev: r.Revision, props: props,
		reason: strings.TrimSpace(fmt.Sprintf("forced by %s: %s", cmp.Or(r.Who, "anonymous"), r.Reason))}
	s.enqueue(req)
	return &status.BuildRequest{ID: id, BuildSetID: id, Builder: r.Builder, Reason: req.reason}, nil
}

func (s *Master) StopBuild(ctx context.Context, builder string, number int, who, reason string) error {
	if !s.knows(builder) {
		return status.ErrNotFound
	}
	s.mu.Lock()
	s.stop[builder] = fmt.Sprintf("by %s: %s", cmp.Or(who, "anonymous"), reason)
	s.mu.Unlock()
	return nil
}

func (s *Master) Rebuild(ctx context.Context, builder string, number int, who, reason string) error {
	_, err := s.ForceBuild(ctx, status.ForceRequest{Builder: builder, Who: who, Reason: fmt.Sprintf("rebuild of #%d: %s", number, reason)})
	return err
}

func (s *Master) PingBuilder(ctx context.Context, builder string) error {
	if !s.knows(builder) {
		return status.ErrNotFound
	}
	return nil
}

func (s *Master) CancelRequest(ctx context.Context, id, who string) error { return status.ErrNotFound }
func (s *Master) StopChange(ctx context.Context, change int64, who string) error {
	return status.ErrUnsupported
}

func (s *Master) ShutdownWorker(ctx context.Context, worker string) error {
	return status.ErrUnsupported
}

func (s *Master) PauseWorker(ctx context.Context, worker string, paused bool) error {
	for _, w := range s.workers {
		if w.Name == worker {
			s.mu.Lock()
			s.paused[worker] = paused
			s.mu.Unlock()
			return nil
		}
	}
	return status.ErrNotFound
}

func (s *Master) ShutdownMaster(ctx context.Context, clean bool) error {
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	return nil
}

func (s *Master) CancelShutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = false
	s.mu.Unlock()
	return nil
}

func (s *Master) ShutdownState(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown, nil
}

// ptr returns a pointer to a copy of v: published values are never modified
// afterwards, so every event gets its own.
func ptr[T any](v T) *T { return &v }
