package store_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

var ctx = context.Background()

// feed applies events as a Hub does, failing the test on a refusal.
func feed(t testing.TB, m *store.Memory, evs ...status.Event) {
	t.Helper()
	for _, e := range evs {
		require.NoError(t, m.Apply(&e), "Apply(%v)", e.Kind)
	}
}

func readAll(t testing.TB, h status.History, ref status.LogRef) string {
	t.Helper()
	r, err := h.Log(ctx, ref)
	require.NoError(t, err)
	text, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(text)
}

func TestMemoryHistoryConformance(t *testing.T) {
	statustest.HistoryConformance(t, statustest.HistorySuite{
		Open: func(*testing.T) status.Ledger { return store.NewMemory(store.MemoryOptions{}) },
	})
}

func TestFakeHistoryConformance(t *testing.T) {
	// statustest.History is the fake the other packages test with; it
	// passes the same suite (its test lives here, beside the store's).
	statustest.HistoryConformance(t, statustest.HistorySuite{
		Open: func(*testing.T) status.Ledger { return &statustest.History{} },
	})
}

func TestMemoryBuilderState(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{})
	feed(t, m, status.Event{Kind: status.BuilderAdded, Builder: &status.Builder{Name: "linux"}})
	feed(t, m, statustest.NewBuild("linux").Running().Events()...)
	r1 := status.BuildRequest{ID: "1", Builder: "linux", Submitted: statustest.Epoch}
	feed(t, m, status.Event{Kind: status.RequestSubmitted, Request: &r1})
	b, err := m.Builder(ctx, "linux")
	require.NoError(t, err)
	assert.Equal(t, status.Building, b.State, "a builder with a running build is building")
	assert.Equal(t, 1, b.Pending, "pending counted from requests")
	feed(t, m, status.Event{Kind: status.BuildFinished, Build: statustest.NewBuild("linux").Succeeded().Build()},
		status.Event{Kind: status.RequestCancelled, Request: &r1})
	b, err = m.Builder(ctx, "linux")
	require.NoError(t, err)
	assert.Equal(t, status.Idle, b.State)
	assert.Zero(t, b.Pending)
}

func TestApplyFillsInOnTheEventOnly(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{})
	hook := status.Change{Author: "Alice <alice@example.org>", Revision: strings.Repeat("a", 40), Branch: "main", Repository: "r"}
	e := status.Event{Kind: status.ChangeAdded, Time: statustest.Epoch, Change: &hook}
	require.NoError(t, m.Apply(&e))
	assert.Equal(t, int64(1), e.Change.ID)
	assert.True(t, e.Change.When.Equal(statustest.Epoch))
	assert.Zero(t, hook.ID, "the host's change is not modified: the event gets a copy")

	// A change applied directly, without a Time, gets the time it was applied.
	before := time.Now()
	e2 := status.Event{Kind: status.ChangeAdded, Change: &status.Change{Revision: strings.Repeat("b", 40)}}
	require.NoError(t, m.Apply(&e2))
	assert.Equal(t, int64(2), e2.Change.ID)
	assert.False(t, e2.Change.When.Before(before))

	// A host's own ID is kept, and later IDs continue after it.
	e3 := status.Event{Kind: status.ChangeAdded, Change: &status.Change{ID: 40, Revision: "c"}}
	require.NoError(t, m.Apply(&e3))
	e4 := status.Event{Kind: status.ChangeAdded, Change: &status.Change{Revision: "d"}}
	require.NoError(t, m.Apply(&e4))
	assert.Equal(t, int64(40), e3.Change.ID)
	assert.Equal(t, int64(41), e4.Change.ID)

	// Requests and build sets name changes by revision too; a change of
	// another branch or repository, or an unknown revision, stays 0.
	src := []status.SourceStamp{{Repository: "r", Branch: "main", Revision: hook.Revision, Changes: []status.Change{
		{Revision: hook.Revision}, {Revision: hook.Revision, Branch: "dev"}, {Revision: hook.Revision, Repository: "other"},
		{Revision: strings.Repeat("f", 40)}}}}
	req := status.BuildRequest{ID: "1", Builder: "linux", Sources: src}
	er := status.Event{Kind: status.RequestSubmitted, Request: &req}
	require.NoError(t, m.Apply(&er))
	var ids []int64
	for _, c := range er.Request.Sources[0].Changes {
		ids = append(ids, c.ID)
	}
	assert.Equal(t, []int64{1, 0, 0, 0}, ids)
	assert.True(t, er.Request.Sources[0].Changes[0].When.Equal(statustest.Epoch), "the stored change's time comes with its ID")
	assert.Zero(t, src[0].Changes[0].ID, "the host's source stamps are not modified")
	bs := status.BuildSet{ID: "s", Sources: src}
	ebs := status.Event{Kind: status.BuildSetSubmitted, BuildSet: &bs}
	require.NoError(t, m.Apply(&ebs))
	assert.Equal(t, int64(1), ebs.BuildSet.Sources[0].Changes[0].ID)
	got, err := m.BuildSet(ctx, "s")
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Sources[0].Changes[0].ID)

	// The stored build is the one the event carries.
	eb := status.Event{Kind: status.BuildStarted, Build: statustest.NewBuild("linux").Repository("r").Revision(hook.Revision).
		Change(status.Change{Author: hook.Author}).Build()}
	require.NoError(t, m.Apply(&eb))
	stored, err := m.Build(ctx, "linux", 1)
	require.NoError(t, err)
	assert.Same(t, eb.Build, stored)
	assert.Equal(t, int64(1), stored.Sources[0].Changes[0].ID)
}

func TestApplyRefusesWhatItCannotRecord(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{})
	b := statustest.NewBuild("linux").Running().Build()
	st := status.Step{Name: "compile"}
	ref := status.LogRef{Builder: "linux", Build: 1, Step: "compile", Name: "stdio"}
	for _, e := range []status.Event{
		{Kind: status.BuildStarted},
		{Kind: status.StepStarted, Build: b},
		{Kind: status.ChangeAdded},
		{Kind: status.WorkerConnected},
		{Kind: status.BuilderAdded},
		{Kind: status.RequestSubmitted},
		{Kind: status.LogAppended, Chunk: "x"},
		{Kind: status.Kind(99)},
		{Kind: status.StepStarted, Build: b, Step: &st},
		{Kind: status.LogStarted, Build: b, Step: &st, Log: &ref},
	} {
		assert.Error(t, m.Apply(&e), "Apply(%v)", e.Kind)
	}
	builds, err := m.Builds(ctx, status.BuildQuery{})
	require.NoError(t, err)
	assert.Empty(t, builds, "nothing recorded")
	_, err = m.Log(ctx, ref)
	assert.ErrorIs(t, err, status.ErrNotFound)

	// A log of a step the build does not have yet is recorded with the
	// step the event carries; without one it is refused.
	feed(t, m, status.Event{Kind: status.BuildStarted, Build: b})
	feed(t, m, status.Event{Kind: status.LogStarted, Build: b, Step: &st, Log: &ref})
	got, err := m.Build(ctx, "linux", 1)
	require.NoError(t, err)
	require.Len(t, got.Steps, 1)
	assert.Equal(t, "stdio", got.Steps[0].Logs[0].Name)
	other := status.LogRef{Builder: "linux", Build: 1, Step: "test", Name: "stdio"}
	assert.Error(t, m.Apply(&status.Event{Kind: status.LogStarted, Build: b, Log: &other}))
}

func TestMemoryLogGrowsWhileReading(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{LogBytes: 40})
	b := statustest.NewBuild("linux").Running().Build()
	st := status.Step{Name: "compile"}
	ref := status.LogRef{Builder: "linux", Build: 1, Step: "compile", Name: "stdio"}
	chunk := func(s string) status.Event {
		return status.Event{Kind: status.LogAppended, Build: b, Step: &st, Log: &ref, Chunk: s}
	}
	feed(t, m, status.Event{Kind: status.BuildStarted, Build: b}, status.Event{Kind: status.StepStarted, Build: b, Step: &st},
		status.Event{Kind: status.LogStarted, Build: b, Step: &st, Log: &ref}, chunk("line 1\n"))
	r1, err := m.Log(ctx, ref)
	require.NoError(t, err)
	feed(t, m, chunk("line 2\n"))
	got, err := io.ReadAll(r1)
	require.NoError(t, err)
	assert.Equal(t, "line 1\n", string(got), "a reader sees the log as it was when opened")
	assert.Equal(t, "line 1\nline 2\n", readAll(t, m, ref))
	assert.False(t, m.LogDone(ref))
	feed(t, m, chunk(strings.Repeat("x", 100)), chunk("lost\n"), status.Event{Kind: status.LogFinished, Build: b, Step: &st, Log: &ref})
	text := readAll(t, m, ref)
	assert.True(t, strings.HasPrefix(text, "line 1\nline 2\n"+strings.Repeat("x", 26)+"\n[herald: log truncated"), "truncated log = %q", text)
	assert.NotContains(t, text, "lost")
	assert.True(t, m.LogDone(ref))
	stored, err := m.Build(ctx, "linux", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(len(text)), stored.Steps[0].Logs[0].Size)
}

func TestMemoryRetention(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{BuildsPerBuilder: 3, Changes: 2, Activity: 2})
	for i := 1; i <= 5; i++ {
		feed(t, m, statustest.NewBuild("linux").Number(i).Step("s", status.Success).Succeeded().Events()...)
		c := statustest.NewChange(int64(i), "Alice <alice@example.org>")
		feed(t, m, status.Event{Kind: status.ChangeAdded, Change: &c})
		feed(t, m, status.Event{Kind: status.WorkerConnected, Time: statustest.Epoch.Add(time.Duration(i) * time.Minute), Worker: &status.Worker{Name: "w"}})
	}
	builds, err := m.Builds(ctx, status.BuildQuery{Builders: []string{"linux"}})
	require.NoError(t, err)
	require.Len(t, builds, 3)
	assert.Equal(t, 3, builds[2].Number)
	_, err = m.Log(ctx, status.LogRef{Builder: "linux", Build: 1, Step: "s", Name: "stdio"})
	assert.ErrorIs(t, err, status.ErrNotFound, "logs of a dropped build are dropped")
	cs, err := m.Changes(ctx, status.ChangeQuery{})
	require.NoError(t, err)
	require.Len(t, cs, 2)
	assert.Equal(t, []int64{5, 4}, []int64{cs[0].ID, cs[1].ID})
	act, err := m.Activity(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, act, 2)
	assert.True(t, act[0].Time.Equal(statustest.Epoch.Add(4*time.Minute)))
}

func TestMemoryActivity(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{})
	at := func(min int) time.Time { return statustest.Epoch.Add(time.Duration(min) * time.Minute) }
	feed(t, m,
		status.Event{Kind: status.MasterStarted, Time: at(0), Master: "m1"},
		status.Event{Kind: status.BuilderAdded, Time: at(1), Builder: &status.Builder{Name: "linux"}},
		status.Event{Kind: status.BuilderChanged, Time: at(2), Builder: &status.Builder{Name: "linux", State: status.Offline}},
		status.Event{Kind: status.WorkerConnected, Time: at(3), Worker: &status.Worker{Name: "w1"}},
		status.Event{Kind: status.BuildStarted, Time: at(4), Build: statustest.NewBuild("linux").Build()},
		status.Event{Kind: status.WorkerDisconnected, Time: at(5), Worker: &status.Worker{Name: "w1"}},
		status.Event{Kind: status.BuilderRemoved, Time: at(6), Builder: &status.Builder{Name: "linux"}},
		status.Event{Kind: status.MasterStopping, Time: at(7), Master: "m1"},
	)
	act, err := m.Activity(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	var kinds []status.Kind
	for _, e := range act {
		kinds = append(kinds, e.Kind)
	}
	assert.Equal(t, []status.Kind{status.MasterStarted, status.BuilderAdded, status.WorkerConnected,
		status.WorkerDisconnected, status.BuilderRemoved, status.MasterStopping}, kinds, "builder state changes and builds are not activity")
	assert.Equal(t, "m1", act[0].Master)
	assert.Equal(t, "w1", act[2].Worker.Name)
	act, err = m.Activity(ctx, at(3), at(6))
	require.NoError(t, err)
	assert.Len(t, act, 3, "[from, to] inclusive")
}

func TestMemoryConcurrentReadWrite(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 1; i <= 50; i++ {
			for _, e := range statustest.NewBuild("linux").Number(i).Step("a", status.Success).Step("b", status.Failure).Failed().Events() {
				assert.NoError(t, m.Apply(&e))
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 200 {
			bs, _ := m.Builds(ctx, status.BuildQuery{Limit: 5})
			for _, b := range bs {
				for _, s := range b.Steps {
					_ = len(s.Logs)
				}
			}
		}
	}()
	wg.Wait()
	bs, err := m.Builds(ctx, status.BuildQuery{})
	require.NoError(t, err)
	assert.Len(t, bs, 50)
}

// TestMemoryRunningIndex checks the running builds Builds returns from its
// index against a scan of every build, through builds starting, growing,
// finishing, arriving out of order and leaving with retention.
func TestMemoryRunningIndex(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{BuildsPerBuilder: 6})
	rng := rand.New(rand.NewPCG(1, 2))
	builders := []string{"a", "b", "c"}
	next := map[string]int{}
	var running []*status.Build
	t0 := statustest.Epoch
	queries := []status.BuildQuery{
		{Running: true}, {Running: true, Limit: 1}, {Running: true, Limit: 2},
		{Running: true, Builders: []string{"a"}}, {Running: true, Builders: []string{"b", "c"}, Limit: 1},
		{Running: true, Tags: []string{"odd"}}, {Running: true, MinNumber: 5},
	}
	for op := range 600 {
		switch k := rng.IntN(10); {
		case k < 4 || len(running) == 0: // start one, sometimes with a number below the newest
			name := builders[rng.IntN(len(builders))]
			next[name] += 10
			n := next[name]
			if rng.IntN(5) == 0 && n > 20 {
				n -= 15 // below the newest: inserted in the middle
			}
			b := &status.Build{Builder: name, Number: n, Started: t0.Add(time.Duration(op) * time.Second)}
			if b.Number%20 == 10 {
				b.Tags = []string{"odd"}
			}
			feed(t, m, status.Event{Kind: status.BuildStarted, Build: b})
			running = append(running, b)
		case k < 7: // a step: the stored build is replaced, still running
			i := rng.IntN(len(running))
			b := running[i]
			if _, err := m.Build(ctx, b.Builder, b.Number); err != nil { // retention dropped it
				running = slices.Delete(running, i, i+1)
				continue
			}
			feed(t, m, status.Event{Kind: status.StepStarted, Build: b, Step: &status.Step{Name: fmt.Sprint("s", op), Started: b.Started}})
		default: // finish one
			i := rng.IntN(len(running))
			b := running[i].Clone()
			b.Finished, b.Result = b.Started.Add(time.Minute), status.Success
			feed(t, m, status.Event{Kind: status.BuildFinished, Build: b})
			running = slices.Delete(running, i, i+1)
		}
		for _, q := range queries {
			got, err := m.Builds(ctx, q)
			require.NoError(t, err)
			assert.Equal(t, keys(scanRunning(t, m, q)), keys(got), "after op %d, query %+v", op, q)
		}
	}
	all, err := m.Builds(ctx, status.BuildQuery{Running: true})
	require.NoError(t, err)
	assert.NotEmpty(t, all)
	assert.Less(t, len(all), len(running), "retention dropped some running builds")
}

// scanRunning answers q as Builds does by scanning every build.
func scanRunning(t *testing.T, m *store.Memory, q status.BuildQuery) []*status.Build {
	all, err := m.Builds(ctx, status.BuildQuery{})
	require.NoError(t, err)
	slices.SortStableFunc(all, func(a, b *status.Build) int {
		return cmp.Or(cmp.Compare(a.Builder, b.Builder), cmp.Compare(b.Number, a.Number))
	})
	var out []*status.Build
	per := map[string]int{}
	for _, b := range all {
		if q.Match(b) && (q.Limit == 0 || per[b.Builder] < q.Limit) {
			out = append(out, b)
			per[b.Builder]++
		}
	}
	slices.SortStableFunc(out, func(a, b *status.Build) int {
		return cmp.Or(b.Started.Compare(a.Started), cmp.Compare(a.Builder, b.Builder), cmp.Compare(b.Number, a.Number))
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

func keys(bs []*status.Build) []string {
	out := []string{}
	for _, b := range bs {
		out = append(out, fmt.Sprintf("%s #%d", b.Builder, b.Number))
	}
	return out
}
