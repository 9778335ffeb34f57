package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// InterruptedText is the text a build that was running when its master
// stopped gets when it is finished after the restart (see
// Memory.FinishInterrupted), after any text it had. Its running steps get
// "interrupted" after theirs, as status.BuildRun.Finish gives them.
const InterruptedText = "interrupted by a master restart"

// interruptedBuild is a build of this master the previous process left
// running: as it ends, and the events that end it.
type interruptedBuild struct {
	finished *status.Build
	events   []status.Event
}

// FinishInterrupted tells every reporter that the builds of this master
// (MemoryOptions.Master) the previous process left running have ended: for
// each, it publishes to p — the Hub whose HubOptions.History is m — what
// status.BuildRun.FinishAt publishes: StepFinished for each step that was
// running (Exception, "interrupted"), then one BuildFinished with Result
// status.Exception and the text InterruptedText, timed when the file was
// last written before the stop. Commit statuses on GitHub or GitLab leave
// "pending", mails and IRC announce the end, like any build's end. It
// returns how many builds it finished. Call it once at start-up, when the
// Hub has its reporters (a reporter added later does not hear it) and
// before new builds start:
//
//	hub := status.NewHub(status.HubOptions{History: history, Master: "ci1"})
//	hub.Add(...) // every reporter
//	if _, err := history.FinishInterrupted(ctx, hub); err != nil {
//		return err
//	}
//
// Until then the pages already show these builds ended (OpenMemory loads
// them so), but the file keeps them running: the events go through
// Hub.Publish like any other, so the Memory records them as it applies
// them, and a reporter added WithOutbox has them in its outbox. They are
// published once: FinishInterrupted returns after the file holds their
// end (it asks for a commit at once rather than after PersistDelay, and
// waits for it within ctx), and a later FinishInterrupted, in this process
// or after a restart, has nothing left to publish. Should the process stop
// before that commit, the next start publishes them again, with the same
// Event.IDs ("interrupted/<master>/<builder>/<number>", with
// "/step/<number>" for steps), so a receiver can drop the copies. A build
// the host finishes itself (its own BuildFinished) is not published again.
// A master that publishes to package bus sends these ends to the front
// ends like its other events.
//
// A host that never calls it leaves forges showing those builds pending;
// the Memory logs a warning when the first new build starts while some
// are left. Running builds of other masters are left running: a front end
// fed by package bus has nothing to end (its restart stopped no build) and
// need not call it. When the file held such builds, FinishInterrupted logs
// a warning naming their masters, since a master whose MemoryOptions.Master
// is not its Hub's name would leave its own builds running so.
//
// For a Memory made by NewMemory, or a file with no running build of this
// master, it publishes nothing and returns 0, nil. It returns an error when
// the events did not reach m (p is another Hub, or it is shut down), or
// when ctx ends before the file holds them.
func (m *Memory) FinishInterrupted(ctx context.Context, p status.Publisher) (int, error) {
	m.finishing.Lock() // a second call waits, then finds nothing left
	defer m.finishing.Unlock()
	m.warnOthersLeft()
	m.mu.RLock()
	todo := slices.Collect(maps.Values(m.interrupted))
	m.mu.RUnlock()
	if len(todo) == 0 {
		return 0, nil
	}
	slices.SortFunc(todo, func(a, b interruptedBuild) int {
		return cmp.Or(a.finished.Started.Compare(b.finished.Started), cmp.Compare(a.finished.Builder, b.finished.Builder),
			cmp.Compare(a.finished.Number, b.finished.Number))
	})
	for _, ib := range todo {
		for _, e := range ib.events {
			p.Publish(e)
		}
	}
	m.mu.Lock()
	var missed []string
	for _, ib := range todo {
		if _, ok := m.interrupted[buildKey{ib.finished.Builder, ib.finished.Number}]; ok {
			missed = append(missed, fmt.Sprintf("%s #%d", ib.finished.Builder, ib.finished.Number))
		}
	}
	if len(missed) == 0 && m.file != nil {
		m.file.urge()
	}
	m.mu.Unlock()
	if len(missed) > 0 {
		return 0, fmt.Errorf("store: FinishInterrupted published the end of %s, but this Memory did not record it: "+
			"pass the Hub whose HubOptions.History is this Memory, before its Shutdown", strings.Join(missed, ", "))
	}
	if err := m.Sync(ctx); err != nil {
		return len(todo), fmt.Errorf("store: the end of %d interrupted builds is published but not yet in the file "+
			"(a restart now publishes them again): %w", len(todo), err)
	}
	return len(todo), nil
}

// interrupt returns b, a build of this master that was running when the
// file was last written (at saved), ended by a resumed status.BuildRun at
// that time, with the events that end it.
func interrupt(b *status.Build, saved time.Time) interruptedBuild {
	var rec recorder
	status.ResumeBuild(&rec, b).FinishAt(saved, status.Exception, append(slices.Clip(b.Text), InterruptedText)...)
	id := "interrupted/" + b.Master + "/" + b.Builder + "/" + strconv.Itoa(b.Number)
	for i := range rec {
		e := &rec[i]
		e.Master, e.ID = b.Master, id
		if e.Kind == status.StepFinished {
			e.ID += "/step/" + strconv.Itoa(e.Step.Number)
		}
	}
	return interruptedBuild{finished: rec[len(rec)-1].Build, events: rec}
}

// recorder keeps what a BuildRun publishes.
type recorder []status.Event

func (r *recorder) Publish(e status.Event) { *r = append(*r, e) }

// noteFinished notes, under m.mu, that an interrupted build has its
// BuildFinished recorded (from FinishInterrupted or the host).
func (m *Memory) noteFinished(b *status.Build) {
	if len(m.interrupted) > 0 {
		delete(m.interrupted, buildKey{b.Builder, b.Number})
	}
}

// noteStarted warns, once, when a new build starts while builds of this
// master the previous process left running were never finished; m.mu is
// held.
func (m *Memory) noteStarted(b *status.Build) {
	if len(m.interrupted) == 0 || m.warnedInterrupted {
		return
	}
	m.warnedInterrupted = true
	m.opts.Logger.Warn("store: a new build started while builds the previous process left running were never announced as ended: "+
		"call Memory.FinishInterrupted with the Hub once its reporters are added, so forge statuses, mails and bots learn they ended",
		"unannounced", len(m.interrupted), "started", b.Builder+" #"+strconv.Itoa(b.Number), "master", m.opts.Master)
}

// warnOthersLeft warns, once, about the builds of other masters the file
// held running that are running still: FinishInterrupted is called by a
// master, and if one of those masters is this process, its
// MemoryOptions.Master is not its Hub's name.
func (m *Memory) warnOthersLeft() {
	m.mu.Lock()
	running := map[string]int{}
	for k, master := range m.othersLeft {
		if _, ok := m.running[k]; ok {
			running[master]++
		}
	}
	clear(m.othersLeft)
	m.mu.Unlock()
	if len(running) == 0 {
		return
	}
	var names []string
	for _, master := range slices.Sorted(maps.Keys(running)) {
		names = append(names, fmt.Sprintf("%q (%d)", master, running[master]))
	}
	m.opts.Logger.Warn("store: builds of other masters that were running at the restart are left running, for their masters to end; "+
		"if this process is one of those masters, set MemoryOptions.Master to the HubOptions.Master of its Hub, "+
		"so that FinishInterrupted ends them", "masters", strings.Join(names, ", "), "MemoryOptions.Master", m.opts.Master)
}
