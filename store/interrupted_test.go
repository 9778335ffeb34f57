package store_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/outbox"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

// The interrupted builds: what runBuilds leaves running, in the order
// FinishInterrupted publishes them.
var interruptedIDs = []string{"interrupted/ci1/linux/2", "interrupted/ci1/windows/5"}

// runBuilds publishes, through a Hub whose history is m, linux #1
// (finished), linux #2 (compile passed, test running with half a log) and
// windows #5 (checkout running), and waits until the file holds them.
func runBuilds(t testing.TB, m *store.Memory) {
	hub := status.NewHub(status.HubOptions{History: m, Master: "ci1", Logger: discard})
	r1 := status.StartBuild(hub, &status.Build{Builder: "linux", Number: 1})
	r1.StartStep("compile").Finish(status.Success)
	r1.Finish(status.Success)
	r2 := status.StartBuild(hub, &status.Build{Builder: "linux", Number: 2})
	r2.StartStep("compile").Finish(status.Success)
	stdio := r2.StartStep("test").OpenLog("stdio")
	fmt.Fprintln(stdio, "half a log")
	r3 := status.StartBuild(hub, &status.Build{Builder: "windows", Number: 5})
	r3.StartStep("checkout")
	require.NoError(t, m.Sync(ctx))
	require.Zero(t, hub.Counts().HistoryErrors)
	// The Hub is left as a killed process leaves it.
}

var discard = slog.New(slog.DiscardHandler)

// ci1 opens the history of master ci1, the Master of runBuilds' Hub.
var ci1 = store.MemoryOptions{PersistDelay: 5 * time.Millisecond, Master: "ci1"}

// ofKind returns the events of kind k.
func ofKind(evs []status.Event, k status.Kind) []status.Event {
	var out []status.Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// checkInterrupted asserts evs are what FinishInterrupted publishes for
// runBuilds' builds: StepFinished for each running step, one
// BuildFinished (Exception) per build.
func checkInterrupted(t *testing.T, evs []status.Event) {
	t.Helper()
	finished := ofKind(evs, status.BuildFinished)
	require.Len(t, finished, 2, "one BuildFinished per interrupted build")
	for i, e := range finished {
		assert.Equal(t, interruptedIDs[i], e.ID)
		assert.Equal(t, status.Exception, e.Build.Result)
		assert.Equal(t, []string{store.InterruptedText}, e.Build.Text)
		assert.True(t, e.Build.Done())
		assert.False(t, e.Build.Finished.Before(e.Build.Started))
		assert.True(t, e.Build.Finished.Equal(e.Time), "the build ended when the file was last written")
		for _, st := range e.Build.Steps {
			assert.True(t, st.Done(), "%s #%d step %s", e.Build.Builder, e.Build.Number, st.Name)
		}
	}
	linux := finished[0].Build
	assert.Equal(t, "linux", linux.Builder)
	require.Len(t, linux.Steps, 2)
	assert.Equal(t, status.Success, linux.Steps[0].Result, "a finished step keeps its result")
	assert.Equal(t, status.Exception, linux.Steps[1].Result)
	assert.Equal(t, []string{"interrupted"}, linux.Steps[1].Text)
	require.Len(t, linux.Steps[1].Logs, 1)
	assert.Equal(t, int64(len("half a log\n")), linux.Steps[1].Logs[0].Size)

	steps := ofKind(evs, status.StepFinished)
	require.Len(t, steps, 2, "StepFinished for each step that was running")
	assert.Equal(t, "test", steps[0].Step.Name)
	assert.Equal(t, "interrupted/ci1/linux/2/step/1", steps[0].ID)
	assert.False(t, steps[0].Build.Done(), "a step ends before its build")
	assert.Equal(t, "checkout", steps[1].Step.Name)
	assert.Equal(t, status.Exception, steps[1].Step.Result)
}

// restartWith opens the file and a Hub (master ci1) with rec as a reporter.
func restartWith(t *testing.T, path string, rec status.Reporter, opts ...status.AddOption) (*store.Memory, *status.Hub) {
	m := open(t, path, ci1)
	hub := status.NewHub(status.HubOptions{History: m, Master: "ci1", Logger: discard})
	require.NoError(t, hub.Add(rec, opts...))
	return m, hub
}

func TestFinishInterruptedTellsEveryReporterOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	m := open(t, path, ci1)
	runBuilds(t, m)
	require.NoError(t, m.Close(ctx))

	rec := &statustest.Recorder{}
	m, hub := restartWith(t, path, rec)
	b, err := m.Build(ctx, "linux", 2)
	require.NoError(t, err)
	assert.Equal(t, status.Exception, b.Result, "the pages show it ended before the reporters are told")
	running, err := m.Builds(ctx, status.BuildQuery{Running: true})
	require.NoError(t, err)
	assert.Empty(t, running)
	n, err := m.FinishInterrupted(ctx, hub)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = m.FinishInterrupted(ctx, hub)
	require.NoError(t, err)
	assert.Zero(t, n, "a second call has nothing left")
	run := status.StartBuild(hub, &status.Build{Builder: "linux", Number: 3})
	running, err = m.Builds(ctx, status.BuildQuery{Running: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"linux #3"}, keys(running))
	run.Finish(status.Success)
	require.NoError(t, hub.Shutdown(ctx))
	evs := rec.Events()
	require.Len(t, ofKind(evs, status.BuildFinished), 3)
	checkInterrupted(t, evs[:len(evs)-2])
	require.NoError(t, m.Close(ctx))

	rec = &statustest.Recorder{}
	m, hub = restartWith(t, path, rec)
	defer m.Close(ctx)
	n, err = m.FinishInterrupted(ctx, hub)
	require.NoError(t, err)
	assert.Zero(t, n, "the file holds their end: a second restart publishes nothing")
	require.NoError(t, hub.Shutdown(ctx))
	assert.Zero(t, rec.Len())
	b, err = m.Build(ctx, "linux", 2)
	require.NoError(t, err)
	assert.Equal(t, []string{store.InterruptedText}, b.Text, "not interrupted twice")
	assert.Equal(t, status.Exception, b.Steps[1].Result)
}

func TestFinishInterruptedUntilTheFileHoldsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	m := open(t, path, ci1)
	runBuilds(t, m)
	require.NoError(t, m.Close(ctx))

	// A host that forgets: the file keeps them running.
	m = open(t, path, ci1)
	require.NoError(t, m.Close(ctx))

	// The wrong Hub: the events go out, the Memory does not record them.
	m = open(t, path, ci1)
	other := &statustest.Recorder{}
	n, err := m.FinishInterrupted(ctx, other)
	require.Error(t, err)
	assert.Zero(t, n)
	assert.Contains(t, err.Error(), "linux #2, windows #5")
	assert.Contains(t, err.Error(), "HubOptions.History")
	checkInterrupted(t, other.Events())
	require.NoError(t, m.Close(ctx))

	// A Hub already shut down records nothing either.
	rec := &statustest.Recorder{}
	m, hub := restartWith(t, path, rec)
	require.NoError(t, hub.Shutdown(ctx))
	_, err = m.FinishInterrupted(ctx, hub)
	require.Error(t, err)
	require.NoError(t, m.Close(ctx))

	m, hub = restartWith(t, path, rec)
	defer m.Close(ctx)
	n, err = m.FinishInterrupted(ctx, hub)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "published again, with the same IDs, until the file holds their end")
	require.NoError(t, hub.Shutdown(ctx))
	checkInterrupted(t, rec.Events())
}

func TestFinishInterruptedLeavesWhatTheHostFinished(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	m := open(t, path, ci1)
	runBuilds(t, m)
	require.NoError(t, m.Close(ctx))

	var logs bytes.Buffer
	m = open(t, path, store.MemoryOptions{PersistDelay: time.Millisecond, Master: "ci1", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer m.Close(ctx)
	rec := &statustest.Recorder{}
	hub := status.NewHub(status.HubOptions{History: m, Master: "ci1", Logger: discard})
	require.NoError(t, hub.Add(rec))
	b, err := m.Build(ctx, "windows", 5)
	require.NoError(t, err)
	b = b.Clone()
	b.Result, b.Text = status.Retry, []string{"resubmitted"}
	hub.Publish(status.Event{Kind: status.BuildFinished, Build: b})
	assert.Empty(t, logs.String())
	status.StartBuild(hub, &status.Build{Builder: "linux", Number: 3})
	status.StartBuild(hub, &status.Build{Builder: "linux", Number: 4})
	assert.Equal(t, 1, strings.Count(logs.String(), "FinishInterrupted"),
		"a new build while one is left unannounced is warned about, once: %s", logs.String())

	n, err := m.FinishInterrupted(ctx, hub)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "windows #5 was finished by the host")
	require.NoError(t, hub.Shutdown(ctx))
	var ends []string
	for _, e := range ofKind(rec.Events(), status.BuildFinished) {
		ends = append(ends, fmt.Sprintf("%s #%d %v", e.Build.Builder, e.Build.Number, e.Build.Result))
	}
	assert.Equal(t, []string{"windows #5 retry", "linux #2 exception"}, ends)
}

func TestFinishInterruptedWithoutAFile(t *testing.T) {
	rec := &statustest.Recorder{}
	n, err := store.NewMemory(store.MemoryOptions{}).FinishInterrupted(ctx, rec)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Zero(t, rec.Len())
}

// The kill -9 tests: a child process runs builds, or finishes interrupted
// ones, says so, and is killed with SIGKILL.
const interruptChildEnv = "HERALD_STORE_INTERRUPT_CHILD" // "phase dir"

func TestInterruptChild(t *testing.T) {
	phase, dir, ok := strings.Cut(os.Getenv(interruptChildEnv), " ")
	if !ok {
		t.Skip("run by the kill -9 tests of FinishInterrupted")
	}
	m, err := store.OpenMemory(filepath.Join(dir, "history.db"), store.MemoryOptions{PersistDelay: 10 * time.Millisecond, Master: "ci1"})
	require.NoError(t, err)
	switch phase {
	case "run":
		runBuilds(t, m)
		fmt.Println("persisted")
	case "finish":
		// A reporter with an outbox that delivers nothing: the process
		// dies with every event still to deliver.
		ob, err := outbox.Open(filepath.Join(dir, "push.outbox"), outbox.Options{})
		require.NoError(t, err)
		counted := &countingOutbox{Outbox: ob, want: 4, all: make(chan struct{})}
		hub := status.NewHub(status.HubOptions{History: m, Master: "ci1", Logger: discard})
		stuck := status.ReporterFunc(func(ctx context.Context, e status.Event) error {
			<-ctx.Done()
			return ctx.Err()
		})
		require.NoError(t, hub.Add(stuck, status.WithOutbox(counted)))
		n, err := m.FinishInterrupted(ctx, hub)
		require.NoError(t, err)
		<-counted.all
		fmt.Println("finished", n)
	}
	select {} // until killed
}

// countingOutbox closes all once want events were appended.
type countingOutbox struct {
	status.Outbox
	want int
	all  chan struct{}

	mu sync.Mutex
	n  int
}

func (o *countingOutbox) Append(evs []status.Event) error {
	if err := o.Outbox.Append(evs); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n < o.want && o.n+len(evs) >= o.want {
		close(o.all)
	}
	o.n += len(evs)
	return nil
}

// killChild runs phase in a child on dir until it prints a line starting
// with until, kills it with SIGKILL, and returns that line.
func killChild(t *testing.T, phase, dir, until string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestInterruptChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), interruptChildEnv+"="+phase+" "+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), until) {
			require.NoError(t, cmd.Process.Signal(os.Kill))
			return lines.Text()
		}
	}
	require.FailNow(t, "the child ended without saying "+until, "phase %s", phase)
	return ""
}

func TestFinishInterruptedAfterKillNine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "history.db")
	killChild(t, "run", dir, "persisted")

	rec := &statustest.Recorder{}
	m, hub := restartWith(t, path, rec)
	n, err := m.FinishInterrupted(ctx, hub)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	require.NoError(t, hub.Shutdown(ctx))
	checkInterrupted(t, rec.Events())
	require.NoError(t, m.Close(ctx))

	rec = &statustest.Recorder{}
	m, hub = restartWith(t, path, rec)
	defer m.Close(ctx)
	n, err = m.FinishInterrupted(ctx, hub)
	require.NoError(t, err)
	assert.Zero(t, n)
	require.NoError(t, hub.Shutdown(ctx))
	assert.Zero(t, rec.Len(), "a second restart publishes nothing")
}

// TestFinishInterruptedSurvivesASecondKill kills the process that
// published the end of the interrupted builds before any was delivered:
// after the next restart, the reporter's outbox delivers each once, and the
// store publishes none again.
func TestFinishInterruptedSurvivesASecondKill(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "history.db")
	killChild(t, "run", dir, "persisted")
	assert.Equal(t, "finished 2", killChild(t, "finish", dir, "finished"))

	ob, err := outbox.Open(filepath.Join(dir, "push.outbox"), outbox.Options{})
	require.NoError(t, err)
	pusher, plain := &statustest.Recorder{}, &statustest.Recorder{}
	m, hub := restartWith(t, path, pusher, status.WithOutbox(ob))
	require.NoError(t, hub.Add(plain))
	n, err := m.FinishInterrupted(ctx, hub)
	require.NoError(t, err)
	assert.Zero(t, n, "the file holds their end")
	require.NoError(t, hub.Shutdown(ctx))
	checkInterrupted(t, pusher.Events())
	assert.Zero(t, plain.Len(), "a reporter without an outbox hears nothing again")
	require.NoError(t, m.Close(ctx))

	m = open(t, path, ci1)
	defer m.Close(ctx)
	n, err = m.FinishInterrupted(ctx, &statustest.Recorder{})
	require.NoError(t, err)
	assert.Zero(t, n)
	bs, err := m.Builds(ctx, status.BuildQuery{Results: []status.Result{status.Exception}})
	require.NoError(t, err)
	var names []string
	for _, b := range bs {
		names = append(names, fmt.Sprintf("%s #%d", b.Builder, b.Number))
	}
	slices.Sort(names)
	assert.Equal(t, []string{"linux #2", "windows #5"}, names)
}

// tee publishes a master's events into its own Hub and a front end's, as
// package bus relays them: events carry the master's name.
type tee struct {
	master string
	hubs   []*status.Hub
}

func (p *tee) Publish(e status.Event) {
	e.Master = p.master
	for _, h := range p.hubs {
		h.Publish(e)
	}
}

// noWarnings asserts that logs (a slog text handler's output) holds no
// warning or error.
func noWarnings(t *testing.T, logs *bytes.Buffer, when string) {
	t.Helper()
	assert.NotContains(t, logs.String(), "level=WARN", when)
	assert.NotContains(t, logs.String(), "level=ERROR", when)
}

// A front end records master-a's builds; when the front end restarts, a
// build still running on master-a stays running there, without a warning,
// and ends with master-a's own events; when master-a restarts, its
// FinishInterrupted ends what it left running on the front end too.
func TestFrontEndLeavesOtherMastersBuildsRunning(t *testing.T) {
	dir := t.TempDir()
	frontPath, masterPath := filepath.Join(dir, "front.db"), filepath.Join(dir, "master-a.db")
	var frontLogs bytes.Buffer
	frontOpts := store.MemoryOptions{PersistDelay: 5 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&frontLogs, nil))}
	masterOpts := store.MemoryOptions{PersistDelay: 5 * time.Millisecond, Master: "master-a"}
	startFront := func() (*store.Memory, *status.Hub) {
		m := open(t, frontPath, frontOpts)
		return m, status.NewHub(status.HubOptions{History: m, Master: "front-end", Logger: discard})
	}
	startMaster := func() (*store.Memory, *status.Hub) {
		m := open(t, masterPath, masterOpts)
		return m, status.NewHub(status.HubOptions{History: m, Master: "master-a", Logger: discard})
	}
	logText := func(m *store.Memory, ref status.LogRef) string {
		rc, err := m.Log(ctx, ref)
		require.NoError(t, err)
		defer rc.Close()
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		return string(b)
	}

	front, frontHub := startFront()
	master, masterHub := startMaster()
	a := &tee{master: "master-a", hubs: []*status.Hub{masterHub, frontHub}}
	run := status.StartBuild(a, &status.Build{Builder: "linux", Number: 1})
	stdio := run.StartStep("test").OpenLog("stdio")
	fmt.Fprintln(stdio, "first half")
	require.NoError(t, front.Sync(ctx))
	require.NoError(t, frontHub.Shutdown(ctx))
	require.NoError(t, front.Close(ctx)) // as a kill -9 after the commit leaves it

	front, frontHub = startFront()
	a.hubs[1] = frontHub
	b, err := front.Build(ctx, "linux", 1)
	require.NoError(t, err)
	assert.False(t, b.Done(), "master-a's build is still running after the front end's restart")
	running, err := front.Builds(ctx, status.BuildQuery{Running: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"linux #1"}, keys(running))
	fmt.Fprintln(stdio, "second half")
	run2 := status.StartBuild(a, &status.Build{Builder: "linux", Number: 2}) // no warning: nothing is the front end's to end
	run2.StartStep("compile")
	run.Finish(status.Success)
	b, err = front.Build(ctx, "linux", 1)
	require.NoError(t, err)
	assert.Equal(t, status.Success, b.Result, "ended by master-a's own event")
	assert.Equal(t, "first half\nsecond half\n", logText(front, b.Steps[0].Logs[0]))

	// master-a dies with linux #2 running, and starts again.
	require.NoError(t, master.Sync(ctx))
	require.NoError(t, master.Close(ctx))
	require.NoError(t, masterHub.Shutdown(ctx))
	master, masterHub = startMaster()
	defer master.Close(ctx)
	a.hubs[0] = masterHub
	n, err := master.FinishInterrupted(ctx, a)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	b, err = front.Build(ctx, "linux", 2)
	require.NoError(t, err)
	assert.Equal(t, status.Exception, b.Result, "the front end hears master-a's end of its build")
	assert.Equal(t, []string{store.InterruptedText}, b.Text)
	assert.Equal(t, []string{"interrupted"}, b.Steps[0].Text)
	require.NoError(t, masterHub.Shutdown(ctx))
	require.NoError(t, frontHub.Shutdown(ctx))
	require.NoError(t, front.Close(ctx))

	front, frontHub = startFront()
	defer front.Close(ctx)
	running, err = front.Builds(ctx, status.BuildQuery{Running: true})
	require.NoError(t, err)
	assert.Empty(t, running)
	n, err = front.FinishInterrupted(ctx, frontHub)
	require.NoError(t, err)
	assert.Zero(t, n, "a front end has no build of its own to end")
	require.NoError(t, frontHub.Shutdown(ctx))
	noWarnings(t, &frontLogs, "a front end is not warned about other masters' builds")
}

// The default MemoryOptions.Master, "", is a master with no name: its
// builds are the ones ended after a restart. A master named only in its
// Hub leaves its builds running, and FinishInterrupted says why.
func TestFinishInterruptedIsForTheNamedMaster(t *testing.T) {
	t.Run("no name", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "history.db")
		m := open(t, path, fast)
		hub := status.NewHub(status.HubOptions{History: m, Logger: discard})
		status.StartBuild(hub, &status.Build{Builder: "linux", Number: 1}).StartStep("compile")
		require.NoError(t, m.Close(ctx))
		var logs bytes.Buffer
		m = open(t, path, store.MemoryOptions{PersistDelay: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		defer m.Close(ctx)
		rec := &statustest.Recorder{}
		hub = status.NewHub(status.HubOptions{History: m, Logger: discard})
		require.NoError(t, hub.Add(rec))
		n, err := m.FinishInterrupted(ctx, hub)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		require.NoError(t, hub.Shutdown(ctx))
		finished := ofKind(rec.Events(), status.BuildFinished)
		require.Len(t, finished, 1)
		assert.Equal(t, "interrupted//linux/1", finished[0].ID)
		noWarnings(t, &logs, "")
	})
	t.Run("named only in its Hub", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "history.db")
		m := open(t, path, fast)
		runBuilds(t, m) // Hub master ci1
		require.NoError(t, m.Close(ctx))
		var logs bytes.Buffer
		m = open(t, path, store.MemoryOptions{PersistDelay: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		defer m.Close(ctx)
		running, err := m.Builds(ctx, status.BuildQuery{Running: true})
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"linux #2", "windows #5"}, keys(running), "ci1's builds are not this Memory's to end")
		rec := &statustest.Recorder{}
		hub := status.NewHub(status.HubOptions{History: m, Master: "ci1", Logger: discard})
		require.NoError(t, hub.Add(rec))
		n, err := m.FinishInterrupted(ctx, hub)
		require.NoError(t, err)
		assert.Zero(t, n)
		n, err = m.FinishInterrupted(ctx, hub)
		require.NoError(t, err)
		assert.Zero(t, n)
		require.NoError(t, hub.Shutdown(ctx))
		assert.Zero(t, rec.Len())
		assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "warned once: %s", logs.String())
		assert.Contains(t, logs.String(), `"\"ci1\" (2)"`)
		assert.Contains(t, logs.String(), "set MemoryOptions.Master to the HubOptions.Master")
	})
}
