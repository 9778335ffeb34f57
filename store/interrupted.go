package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// InterruptedText is the text a build that was running when its master
// stopped gets when it is finished after the restart (see
// Memory.FinishInterrupted), after any text it had. Its running steps get
// "interrupted", as status.BuildRun.Finish gives them.
const InterruptedText = "interrupted by a master restart"

// stepInterrupted is the text of a step that was running when its master
// stopped.
const stepInterrupted = "interrupted"

// interruptedBuild is a build the previous process left running: as the
// file holds it, and as it ends.
type interruptedBuild struct {
	running, finished *status.Build
}

// FinishInterrupted tells every reporter that the builds the previous
// process left running have ended: for each, it publishes to p — the Hub
// whose HubOptions.History is m — StepFinished for each step that was
// running (Exception, "interrupted") and one BuildFinished with Result
// status.Exception and the text InterruptedText, timed when the file was
// last written before the stop. Commit statuses on GitHub or GitLab leave
// "pending", mails and IRC announce the end, like any build's end. It
// returns how many builds it finished. Call it once at start-up, when the
// Hub has its reporters (a reporter added later does not hear it) and
// before new builds start:
//
//	hub := status.NewHub(status.HubOptions{History: history})
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
// Event.IDs ("interrupted/<master>/<builder>/<number>", with "/step/<n>"
// for steps), so a receiver can drop the copies. A build the host finishes
// itself (its own BuildFinished) is not published again.
//
// A host that never calls it leaves forges showing those builds pending;
// the Memory logs a warning when the first new build starts while some
// are left. A front end whose Memory is fed from other masters (package
// bus) does not call it: those builds end when their master's events
// arrive.
//
// For a Memory made by NewMemory, or a file with no running build, it
// publishes nothing and returns 0, nil. It returns an error when the
// events did not reach m (p is another Hub, or it is shut down), or when
// ctx ends before the file holds them.
func (m *Memory) FinishInterrupted(ctx context.Context, p status.Publisher) (int, error) {
	m.finishing.Lock() // a second call waits, then finds nothing left
	defer m.finishing.Unlock()
	m.mu.RLock()
	todo := make([]interruptedBuild, 0, len(m.interrupted))
	for _, ib := range m.interrupted {
		todo = append(todo, ib)
	}
	m.mu.RUnlock()
	if len(todo) == 0 {
		return 0, nil
	}
	slices.SortFunc(todo, func(a, b interruptedBuild) int {
		return cmp.Or(a.running.Started.Compare(b.running.Started), cmp.Compare(a.running.Builder, b.running.Builder),
			cmp.Compare(a.running.Number, b.running.Number))
	})
	for _, ib := range todo {
		for _, e := range ib.events() {
			p.Publish(e)
		}
	}
	m.mu.Lock()
	var missed []string
	for _, ib := range todo {
		if _, ok := m.interrupted[buildKey{ib.running.Builder, ib.running.Number}]; ok {
			missed = append(missed, fmt.Sprintf("%s #%d", ib.running.Builder, ib.running.Number))
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

// events are what status.BuildRun.Finish would have published for the
// build: StepFinished for each running step, then BuildFinished.
func (ib interruptedBuild) events() []status.Event {
	b, end := ib.running.Clone(), ib.finished.Finished
	id := "interrupted/" + b.Master + "/" + b.Builder + "/" + strconv.Itoa(b.Number)
	var evs []status.Event
	for i := range b.Steps {
		if b.Steps[i].Done() {
			continue
		}
		b.Steps[i] = ib.finished.Steps[i]
		st := b.Steps[i]
		evs = append(evs, status.Event{Kind: status.StepFinished, Time: st.Finished, Master: b.Master,
			ID: id + "/step/" + strconv.Itoa(i), Build: b.Clone(), Step: &st})
	}
	return append(evs, status.Event{Kind: status.BuildFinished, Time: end, Master: b.Master, ID: id, Build: ib.finished})
}

// interrupt returns b, which was running when its master went away, as
// finished with an exception at the last time the file was written.
func interrupt(b *status.Build, saved time.Time) *status.Build {
	nb := b.Clone()
	end := saved
	if end.Before(nb.Started) {
		end = nb.Started
	}
	nb.Finished, nb.Result, nb.Text = end, status.Exception, append(nb.Text, InterruptedText)
	for i := range nb.Steps {
		if st := &nb.Steps[i]; !st.Done() {
			st.Finished, st.Result, st.Text = end, status.Exception, append(st.Text, stepInterrupted)
			if st.Finished.Before(st.Started) {
				st.Finished = st.Started
			}
		}
	}
	return nb
}

// noteFinished notes, under m.mu, that an interrupted build has its
// BuildFinished recorded (from FinishInterrupted or the host).
func (m *Memory) noteFinished(b *status.Build) {
	if len(m.interrupted) > 0 {
		delete(m.interrupted, buildKey{b.Builder, b.Number})
	}
}

// noteStarted warns, once, when a new build starts while builds the
// previous process left running were never finished; m.mu is held.
func (m *Memory) noteStarted(b *status.Build) {
	if len(m.interrupted) == 0 || m.warnedInterrupted {
		return
	}
	m.warnedInterrupted = true
	m.opts.Logger.Warn("store: a new build started while builds the previous process left running were never announced as ended: "+
		"call Memory.FinishInterrupted with the Hub once its reporters are added, so forge statuses, mails and bots learn they ended "+
		"(a front end fed by package bus gets their end from their master instead)",
		"unannounced", len(m.interrupted), "started", b.Builder+" #"+strconv.Itoa(b.Number))
}
