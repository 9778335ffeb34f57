package store_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
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
	m := open(t, path, fast)
	hub := status.NewHub(status.HubOptions{History: m, Master: "ci1", Logger: discard})
	require.NoError(t, hub.Add(rec, opts...))
	return m, hub
}

func TestFinishInterruptedTellsEveryReporterOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	m := open(t, path, fast)
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
	m := open(t, path, fast)
	runBuilds(t, m)
	require.NoError(t, m.Close(ctx))

	// A host that forgets: the file keeps them running.
	m = open(t, path, fast)
	require.NoError(t, m.Close(ctx))

	// The wrong Hub: the events go out, the Memory does not record them.
	m = open(t, path, fast)
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
	m := open(t, path, fast)
	runBuilds(t, m)
	require.NoError(t, m.Close(ctx))

	var logs bytes.Buffer
	m = open(t, path, store.MemoryOptions{PersistDelay: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
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
	m, err := store.OpenMemory(filepath.Join(dir, "history.db"), store.MemoryOptions{PersistDelay: 10 * time.Millisecond})
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

	m = open(t, path, fast)
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
