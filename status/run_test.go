package status_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

type publishRecorder struct {
	mu  sync.Mutex
	evs []status.Event
}

func (p *publishRecorder) Publish(e status.Event) {
	p.mu.Lock()
	p.evs = append(p.evs, e)
	p.mu.Unlock()
}

func TestBuildRunPublishesTheLifecycle(t *testing.T) {
	var p publishRecorder
	run := status.StartBuild(&p, &status.Build{Builder: "linux", Number: 7, Tags: []string{"ci"}})
	step := run.StartStep("compile")
	stdio := step.OpenLog("stdio")
	_, err := io.WriteString(stdio, "ok 1\n")
	require.NoError(t, err)
	_, err = io.WriteString(stdio, "ok 2\n")
	require.NoError(t, err)
	step.SetText("compile", "2 ok")
	require.NoError(t, stdio.Close())
	_, err = stdio.Write([]byte("late"))
	require.ErrorIs(t, err, status.ErrLogClosed)
	step.Finish(status.Success)
	test := run.StartStep("test")
	test.OpenLog("stdio") // left open: Finish closes it
	run.Finish(status.Failure, "failed", "test")
	run.Finish(status.Success) // ignored

	var kinds []string
	for _, e := range p.evs {
		kinds = append(kinds, e.Kind.String())
		require.NotNil(t, e.Build)
		assert.Equal(t, "linux", e.Build.Builder)
	}
	assert.Equal(t, []string{"buildStarted", "stepStarted", "logStarted", "logAppended", "logAppended",
		"stepTextChanged", "logFinished", "stepFinished", "stepStarted", "logStarted", "logFinished",
		"stepFinished", "buildFinished"}, kinds)
	assert.Equal(t, "ok 2\n", p.evs[4].Chunk)
	assert.Equal(t, int64(10), p.evs[4].Log.Size)
	assert.Equal(t, status.LogRef{Builder: "linux", Build: 7, Step: "compile", Name: "stdio", Size: 10}, *p.evs[6].Log)
	last := p.evs[len(p.evs)-1].Build
	assert.Equal(t, status.Failure, last.Result)
	assert.Equal(t, status.Exception, last.Steps[1].Result, "a step left running is interrupted")
	assert.Equal(t, []string{"interrupted"}, last.Steps[1].Text)
	assert.Len(t, last.Steps, 2)
	// Events are snapshots: the first one still shows a running build.
	assert.False(t, p.evs[0].Build.Done())
	assert.Empty(t, p.evs[0].Build.Steps)
}

// A resumed build goes on from where its earlier process left it: new
// steps number on, and FinishAt ends its running steps, not before they
// started, and publishes no LogFinished for logs the run never opened.
func TestResumeBuildFinishesWhatWasRunning(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	b := &status.Build{Builder: "linux", Number: 7, Started: t0, Master: "ci1", Text: []string{"building"},
		Steps: []status.Step{
			{Name: "compile", Number: 0, Started: t0, Finished: t0.Add(time.Minute), Result: status.Warnings, Text: []string{"compile", "3 warnings"}},
			{Name: "test", Number: 1, Started: t0.Add(2 * time.Minute), Text: []string{"testing"},
				Logs: []status.LogRef{{Builder: "linux", Build: 7, Step: "test", Name: "stdio", Size: 11}}},
		}}
	orig := b.Clone()
	var p publishRecorder
	run := status.ResumeBuild(&p, b)
	assert.Empty(t, p.evs, "resuming publishes nothing")
	assert.Equal(t, orig, run.Build())

	run.FinishAt(t0.Add(time.Minute), status.Exception, "building", "interrupted by a master restart") // before test started
	run.FinishAt(t0.Add(time.Hour), status.Success)                                                    // ignored
	require.Len(t, p.evs, 2)
	step, end := p.evs[0], p.evs[1]
	assert.Equal(t, status.StepFinished, step.Kind)
	assert.Equal(t, "test", step.Step.Name)
	assert.Equal(t, status.Exception, step.Step.Result)
	assert.Equal(t, []string{"testing", "interrupted"}, step.Step.Text)
	assert.Equal(t, t0.Add(2*time.Minute), step.Step.Finished, "a step never ends before it started")
	assert.False(t, step.Build.Done(), "the step ends before its build")
	assert.Equal(t, status.BuildFinished, end.Kind)
	assert.Equal(t, t0.Add(2*time.Minute), end.Time)
	assert.Equal(t, t0.Add(2*time.Minute), end.Build.Finished)
	assert.Equal(t, []string{"building", "interrupted by a master restart"}, end.Build.Text)
	assert.Equal(t, orig.Steps[0], end.Build.Steps[0], "a finished step is left as it was")
	assert.Equal(t, orig.Steps[1].Logs, end.Build.Steps[1].Logs)
	assert.Equal(t, orig, b, "b is copied, not modified")

	// New steps number on after the resumed ones.
	p.evs = nil
	run = status.ResumeBuild(&p, orig)
	retry := run.StartStep("retry")
	retry.Finish(status.Success)
	run.Finish(status.Failure)
	require.Len(t, p.evs, 4)
	assert.Equal(t, 2, p.evs[0].Step.Number)
	assert.Equal(t, []string{"testing", "interrupted"}, p.evs[2].Step.Text, "test was still running")
	assert.Equal(t, status.Success, p.evs[3].Build.Steps[2].Result)

	// A finished build has nothing left to finish.
	p.evs = nil
	status.ResumeBuild(&p, end.Build).Finish(status.Success)
	assert.Empty(t, p.evs)
}

// logLedger keeps log text; the store's own tests run this race too.
type logLedger struct {
	statustest.History
	mu   sync.Mutex
	text strings.Builder
}

func (l *logLedger) Apply(e *status.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.text.WriteString(e.Chunk)
	return nil
}

func (l *logLedger) Log(context.Context, status.LogRef) (io.ReadCloser, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return io.NopCloser(strings.NewReader(l.text.String())), nil
}

// The tail race of issue 15: a reporter reading the History when it handles
// BuildFinished sees the build's last log lines, every time, because the
// Hub applies each event to the History before queueing it.
func TestBuildFinishedReadsTheWholeLog(t *testing.T) {
	for trial := range 100 {
		hist := &logLedger{}
		h := quietHub(t, status.HubOptions{History: hist})
		tails := make(chan string, 1)
		require.NoError(t, h.Add(status.ReporterFunc(func(ctx context.Context, e status.Event) error {
			if e.Kind != status.BuildFinished {
				return nil
			}
			rc, err := hist.Log(ctx, e.Build.Steps[0].Logs[0])
			if err != nil {
				return err
			}
			defer rc.Close()
			text, err := io.ReadAll(rc)
			lines := strings.Split(strings.TrimSpace(string(text)), "\n")
			tails <- lines[len(lines)-1]
			return err
		})))
		run := status.StartBuild(h, &status.Build{Builder: "linux", Number: trial + 1})
		stdio := run.StartStep("test").OpenLog("stdio")
		for c := range 90 {
			var b strings.Builder
			for l := range 10 {
				fmt.Fprintf(&b, "line %d\n", c*10+l)
			}
			_, _ = io.WriteString(stdio, b.String())
		}
		run.Finish(status.Failure)
		require.Equal(t, "line 899", <-tails, "trial %d", trial)
	}
}
