package statustest

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
)

// HistorySuite describes a status.Ledger for HistoryConformance.
type HistorySuite struct {
	// Open returns a new, empty ledger. Required.
	Open func(t *testing.T) status.Ledger
	// Reopen, when set, returns the ledger a restarted process would see
	// after l had every event applied: for a history kept in a file, close
	// l and open the file again. The suite then checks it again, expecting
	// what a restart keeps: everything but pending requests and worker
	// connections, with the build that was running finished (any result).
	// It also checks that change IDs continue after the restart.
	Reopen func(t *testing.T, l status.Ledger) status.Ledger
}

// HistoryConformance applies a fixed set of events to a ledger, as a Hub
// does, and checks every History method against what they describe:
//   - Apply fills in, on the event, the ID of a new change (non-zero,
//     unique) and its When when it had none (the event's Time), and the ID
//     of a change a build's source stamp names by revision, repository and
//     branch only; it returns an error, recording nothing, for a step or log
//     of a build it does not hold;
//   - Builders and Builder; Builds with every BuildQuery field, newest first
//     by start time, and limits; Build by number and counting from the
//     newest; PreviousBuild; Log of finished, multi-chunk and growing logs,
//     and the log sizes in the build's steps; Changes with every ChangeQuery
//     field, newest first; Change; Workers; Pending, oldest first; Users
//     (one per change author);
//   - unknown names and numbers give status.ErrNotFound.
//
// Each part runs as a subtest of t.
func HistoryConformance(t *testing.T, s HistorySuite) {
	t.Helper()
	require.NotNil(t, s.Open, "HistorySuite.Open is required")
	l := s.Open(t)
	fx := applyFixture(t, l)
	t.Run("Live", func(t *testing.T) { checkHistory(t, l, fx, false) })
	if s.Reopen == nil {
		return
	}
	l2 := s.Reopen(t, l)
	t.Run("Reopened", func(t *testing.T) {
		checkHistory(t, l2, fx, true)
		c := status.Change{Author: "Dave <dave@example.org>", Revision: strings.Repeat("e", 40), Branch: "main", Repository: repo1}
		e := status.Event{Kind: status.ChangeAdded, Time: at(50 * time.Hour), Change: &c}
		require.NoError(t, l2.Apply(&e))
		assert.Greater(t, e.Change.ID, fx.ids["D"], "change IDs continue after a restart")
		for _, e := range NewBuild("linux").Number(5).Tags("ci").Started(at(51*time.Hour)).Step("compile", status.Success).Succeeded().Events() {
			require.NoError(t, l2.Apply(&e))
		}
		b, err := l2.Build(ctx(), "linux", -1)
		require.NoError(t, err)
		assert.Equal(t, 5, b.Number)
	})
}

const (
	repo1 = "https://example.org/one.git"
	repo2 = "https://example.org/two.git"
)

func at(d time.Duration) time.Time { return Epoch.Add(d) }

func ctx() context.Context { return context.Background() }

// fixture is what HistoryConformance applied: the IDs the ledger gave the
// changes, by letter, and their revisions.
type fixture struct {
	ids  map[string]int64
	revs map[string]string
}

func applyFixture(t *testing.T, l status.Ledger) *fixture {
	t.Helper()
	fx := &fixture{ids: map[string]int64{}, revs: map[string]string{}}
	apply := func(e status.Event) status.Event {
		t.Helper()
		require.NoError(t, l.Apply(&e), "Apply(%v)", e.Kind)
		return e
	}
	apply(status.Event{Kind: status.MasterStarted, Time: at(0)})
	apply(status.Event{Kind: status.BuilderAdded, Time: at(0), Builder: &status.Builder{Name: "linux", Tags: []string{"ci"}, Description: "Debian"}})
	apply(status.Event{Kind: status.BuilderAdded, Time: at(0), Builder: &status.Builder{Name: "win", Tags: []string{"ci", "windows"}}})
	apply(status.Event{Kind: status.BuilderAdded, Time: at(0), Builder: &status.Builder{Name: "docs", Tags: []string{"docs"}}})
	apply(status.Event{Kind: status.WorkerConnected, Time: at(time.Minute), Worker: &status.Worker{Name: "w2", Host: "win11"}})
	apply(status.Event{Kind: status.WorkerConnected, Time: at(2 * time.Minute), Worker: &status.Worker{Name: "w1", Host: "debian"}})
	apply(status.Event{Kind: status.WorkerDisconnected, Time: at(3 * time.Minute), Worker: &status.Worker{Name: "w2", Host: "win11"}})

	// Changes as a hook gives them: no ID, and mostly no time.
	for _, c := range []struct {
		letter, author, branch, repo, project, codebase string
		when, received                                  time.Duration
	}{
		{"A", "Alice <alice@example.org>", "main", repo1, "one", "", 0, 10 * time.Minute},
		{"B", "Bob <bob@example.org>", "dev", repo1, "one", "", 5 * time.Minute, 11 * time.Minute},
		{"C", "Alice <alice@example.org>", "main", repo2, "two", "cb2", 0, 20 * time.Minute},
		{"D", "Carol <carol@example.org>", "main", repo1, "one", "", 0, 30 * time.Minute},
	} {
		ch := status.Change{Author: c.author, Revision: strings.Repeat(strings.ToLower(c.letter), 40), Branch: c.branch,
			Repository: c.repo, Project: c.project, Codebase: c.codebase, Files: []string{"main.go"}, Comments: "change " + c.letter}
		if c.when != 0 {
			ch.When = at(c.when)
		}
		fx.revs[c.letter] = ch.Revision
		e := apply(status.Event{Kind: status.ChangeAdded, Time: at(c.received), Change: &ch})
		require.NotNil(t, e.Change)
		assert.NotZero(t, e.Change.ID, "Apply gives a new change an ID, on the event")
		assert.NotContains(t, fx.ids, e.Change.ID)
		want := at(c.received)
		if c.when != 0 {
			want = at(c.when)
		}
		assert.True(t, e.Change.When.Equal(want), "change %s: When = %v, want %v (the receive time when the hook gave none)", c.letter, e.Change.When, want)
		fx.ids[c.letter] = e.Change.ID
	}
	ids := make([]int64, 0, len(fx.ids))
	for _, id := range fx.ids {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	assert.Len(t, slices.Compact(ids), 4, "change IDs are unique")

	// linux #1 names change A by revision only, as a host that got it from
	// the hook does: Apply gives it A's ID.
	linux1 := NewBuild("linux").Number(1).Tags("ci").Started(at(time.Hour)).Property("owner", "alice").
		Repository(repo1).Revision(fx.revs["A"]).Change(status.Change{Author: "Alice <alice@example.org>", Repository: repo1}).
		Step("compile", status.Success).Step("test", status.Success).Succeeded()
	for _, e := range linux1.Events() {
		e = apply(e)
		if e.Kind == status.BuildStarted {
			require.NotEmpty(t, e.Build.Sources)
			require.NotEmpty(t, e.Build.Sources[0].Changes)
			assert.Equal(t, fx.ids["A"], e.Build.Sources[0].Changes[0].ID, "a build's change named by revision gets the stored change's ID, on the event")
		}
	}
	for _, e := range NewBuild("docs").Number(1).Tags("docs").Branch("gh-pages").Property("owner", "bob").
		Started(at(90*time.Minute)).Step("sphinx", status.Success).Succeeded().Events() {
		apply(e)
	}
	// linux #2 has a log that arrives in three chunks.
	for _, e := range NewBuild("linux").Number(2).Tags("ci").Started(at(2*time.Hour)).Repository(repo1).Revision(fx.revs["D"]).
		Step("compile", status.Success).Step("test", status.Failure).Failed().Events() {
		if e.Kind == status.LogAppended && e.Log.Step == "test" {
			for i := range 3 {
				e.Chunk = fmt.Sprintf("chunk %d\n", i+1)
				apply(e)
			}
			continue
		}
		apply(e)
	}
	for _, e := range NewBuild("win").Number(1).Tags("ci", "windows").Started(at(150*time.Minute)).
		Step("build", status.Warnings).Result(status.Warnings).Events() {
		apply(e)
	}
	for _, e := range NewBuild("linux").Number(3).Tags("ci").Started(at(3*time.Hour)).
		Step("compile", status.Failure).Failed().Events() {
		apply(e)
	}
	// linux #4 is still running, its log growing.
	b4 := NewBuild("linux").Number(4).Tags("ci").Started(at(4 * time.Hour)).Running().Build()
	apply(status.Event{Kind: status.BuildStarted, Time: b4.Started, Build: b4})
	st := status.Step{Name: "compile", Started: b4.Started, Text: []string{"compile"}}
	b4s := b4.Clone()
	b4s.Steps = []status.Step{st}
	apply(status.Event{Kind: status.StepStarted, Time: b4.Started, Build: b4s, Step: &st})
	ref := status.LogRef{Builder: "linux", Build: 4, Step: "compile", Name: "stdio"}
	apply(status.Event{Kind: status.LogStarted, Time: b4.Started, Build: b4s, Step: &st, Log: &ref})
	apply(status.Event{Kind: status.LogAppended, Time: b4.Started, Build: b4s, Step: &st, Log: &ref, Chunk: "partial\n"})

	// Requests, applied out of submission order.
	for _, r := range []status.BuildRequest{
		{ID: "r1", Builder: "linux", Reason: "force", Submitted: at(5 * time.Hour)},
		{ID: "r2", Builder: "docs", Reason: "change", Submitted: at(270 * time.Minute)},
		{ID: "r3", Builder: "linux", Reason: "force", Submitted: at(285 * time.Minute)},
	} {
		apply(status.Event{Kind: status.RequestSubmitted, Time: r.Submitted, Request: &r})
	}
	apply(status.Event{Kind: status.RequestCancelled, Time: at(6 * time.Hour), Request: &status.BuildRequest{ID: "r3", Builder: "linux"}})

	// What cannot be recorded is refused, and not recorded.
	ghost := NewBuild("ghost").Number(1).Build()
	gst := status.Step{Name: "compile"}
	assert.Error(t, l.Apply(&status.Event{Kind: status.StepStarted, Time: at(7 * time.Hour), Build: ghost, Step: &gst}),
		"a step of a build that never started")
	gref := status.LogRef{Builder: "ghost", Build: 1, Step: "compile", Name: "stdio"}
	assert.Error(t, l.Apply(&status.Event{Kind: status.LogAppended, Time: at(7 * time.Hour), Build: ghost, Step: &gst, Log: &gref, Chunk: "x"}),
		"a log of a build that never started")
	return fx
}

// names renders builds as "builder#number ...".
func names(bs []*status.Build) string {
	var out []string
	for _, b := range bs {
		out = append(out, fmt.Sprintf("%s#%d", b.Builder, b.Number))
	}
	return strings.Join(out, " ")
}

func readLog(t *testing.T, h status.History, ref status.LogRef) string {
	t.Helper()
	r, err := h.Log(ctx(), ref)
	require.NoError(t, err, "Log(%+v)", ref)
	defer r.Close()
	text, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(text)
}

func checkHistory(t *testing.T, h status.History, fx *fixture, restarted bool) {
	// live picks the expectation before or after a restart.
	live := func(before, after string) string {
		if restarted {
			return after
		}
		return before
	}
	t.Run("Builders", func(t *testing.T) {
		bs, err := h.Builders(ctx())
		require.NoError(t, err)
		var got []string
		for _, b := range bs {
			got = append(got, b.Name)
		}
		assert.Equal(t, []string{"docs", "linux", "win"}, got, "sorted by name")
		b, err := h.Builder(ctx(), "linux")
		require.NoError(t, err)
		assert.Equal(t, "Debian", b.Description)
		assert.Equal(t, []string{"ci"}, b.Tags)
		_, err = h.Builder(ctx(), "nope")
		assert.ErrorIs(t, err, status.ErrNotFound)
	})
	t.Run("Builds", func(t *testing.T) {
		for _, tc := range []struct {
			q    status.BuildQuery
			want string
		}{
			{status.BuildQuery{}, "linux#4 linux#3 win#1 linux#2 docs#1 linux#1"},
			{status.BuildQuery{Limit: 3}, "linux#4 linux#3 win#1"},
			{status.BuildQuery{Builders: []string{"linux"}, Limit: 2}, "linux#4 linux#3"},
			{status.BuildQuery{Builders: []string{"linux", "docs"}}, "linux#4 linux#3 linux#2 docs#1 linux#1"},
			{status.BuildQuery{Branches: []string{"gh-pages"}}, "docs#1"},
			{status.BuildQuery{Tags: []string{"windows"}}, "win#1"},
			{status.BuildQuery{Tags: []string{"ci"}}, "linux#4 linux#3 win#1 linux#2 linux#1"},
			{status.BuildQuery{Results: []status.Result{status.Failure}}, "linux#3 linux#2"},
			{status.BuildQuery{Results: []status.Result{status.Warnings, status.Success}}, "win#1 docs#1 linux#1"},
			{status.BuildQuery{Finished: true}, live("linux#3 win#1 linux#2 docs#1 linux#1", "linux#4 linux#3 win#1 linux#2 docs#1 linux#1")},
			{status.BuildQuery{Finished: true, Limit: 2}, live("linux#3 win#1", "linux#4 linux#3")},
			{status.BuildQuery{Running: true}, live("linux#4", "")},
			{status.BuildQuery{Builders: []string{"linux"}, MinNumber: 2, MaxNumber: 3}, "linux#3 linux#2"},
			{status.BuildQuery{MinNumber: 3}, "linux#4 linux#3"},
			{status.BuildQuery{Properties: map[string]string{"owner": "bob"}}, "docs#1"},
			{status.BuildQuery{Properties: map[string]string{"owner": "nobody"}}, ""},
			{status.BuildQuery{Revision: fx.revs["A"][:7]}, "linux#1"},
			{status.BuildQuery{Revision: fx.revs["D"]}, "linux#2"},
			{status.BuildQuery{Revision: "0123456"}, "linux#4 linux#3 win#1 docs#1"},
			{status.BuildQuery{Revision: "012345"}, ""},
			{status.BuildQuery{Since: at(2 * time.Hour), Until: at(3 * time.Hour)}, "win#1 linux#2"},
			{status.BuildQuery{Since: at(3 * time.Hour)}, "linux#4 linux#3"},
		} {
			got, err := h.Builds(ctx(), tc.q)
			require.NoError(t, err)
			assert.Equal(t, tc.want, names(got), "Builds(%+v)", tc.q)
		}
	})
	t.Run("Build", func(t *testing.T) {
		b, err := h.Build(ctx(), "linux", 2)
		require.NoError(t, err)
		assert.Equal(t, status.Failure, b.Result)
		assert.True(t, b.Done())
		require.Len(t, b.Steps, 2)
		assert.Equal(t, "test", b.Steps[1].Name)
		assert.Equal(t, status.Failure, b.Steps[1].Result)
		require.Len(t, b.Steps[1].Logs, 1)
		assert.Equal(t, int64(len("chunk 1\nchunk 2\nchunk 3\n")), b.Steps[1].Logs[0].Size, "a finished log's size is in its step")

		b1, err := h.Build(ctx(), "linux", 1)
		require.NoError(t, err)
		require.NotEmpty(t, b1.Sources)
		require.Len(t, b1.Sources[0].Changes, 1)
		assert.Equal(t, fx.ids["A"], b1.Sources[0].Changes[0].ID, "the stored build links the change by its ID")
		assert.Equal(t, "alice", b1.Property("owner"))

		newest, err := h.Build(ctx(), "linux", -1)
		require.NoError(t, err)
		assert.Equal(t, 4, newest.Number)
		assert.Equal(t, restarted, newest.Done(), "the build running before a restart is finished after it")
		second, err := h.Build(ctx(), "linux", -2)
		require.NoError(t, err)
		assert.Equal(t, 3, second.Number)
		_, err = h.Build(ctx(), "linux", 99)
		assert.ErrorIs(t, err, status.ErrNotFound)
		_, err = h.Build(ctx(), "ghost", 1)
		assert.ErrorIs(t, err, status.ErrNotFound, "a build whose step Apply refused is not recorded")
	})
	t.Run("PreviousBuild", func(t *testing.T) {
		for _, tc := range []struct {
			builder string
			number  int
			want    int // 0: none
		}{{"linux", 3, 2}, {"linux", 4, 3}, {"linux", 2, 1}, {"linux", 1, 0}, {"docs", 1, 0}} {
			b, err := h.Build(ctx(), tc.builder, tc.number)
			require.NoError(t, err)
			prev, err := h.PreviousBuild(ctx(), b)
			require.NoError(t, err)
			if tc.want == 0 {
				assert.Nil(t, prev, "PreviousBuild(%s #%d)", tc.builder, tc.number)
			} else if assert.NotNil(t, prev, "PreviousBuild(%s #%d)", tc.builder, tc.number) {
				assert.Equal(t, tc.want, prev.Number, "PreviousBuild(%s #%d)", tc.builder, tc.number)
			}
		}
	})
	t.Run("Log", func(t *testing.T) {
		assert.Equal(t, "chunk 1\nchunk 2\nchunk 3\n", readLog(t, h, status.LogRef{Builder: "linux", Build: 2, Step: "test", Name: "stdio"}))
		assert.Equal(t, "compile: output of stdio\n", readLog(t, h, status.LogRef{Builder: "linux", Build: 2, Step: "compile", Name: "stdio"}))
		assert.Equal(t, "sphinx: output of stdio\n", readLog(t, h, status.LogRef{Builder: "docs", Build: 1, Step: "sphinx", Name: "stdio"}))
		assert.Equal(t, "partial\n", readLog(t, h, status.LogRef{Builder: "linux", Build: 4, Step: "compile", Name: "stdio"}), "a growing log")
		_, err := h.Log(ctx(), status.LogRef{Builder: "linux", Build: 2, Step: "test", Name: "nope"})
		assert.ErrorIs(t, err, status.ErrNotFound)
		_, err = h.Log(ctx(), status.LogRef{Builder: "ghost", Build: 1, Step: "compile", Name: "stdio"})
		assert.ErrorIs(t, err, status.ErrNotFound)
	})
	t.Run("Changes", func(t *testing.T) {
		ids := func(letters ...string) []int64 {
			out := []int64{}
			for _, l := range letters {
				out = append(out, fx.ids[l])
			}
			return out
		}
		for _, tc := range []struct {
			q    status.ChangeQuery
			want []int64
		}{
			{status.ChangeQuery{}, ids("D", "C", "B", "A")},
			{status.ChangeQuery{Limit: 2}, ids("D", "C")},
			{status.ChangeQuery{Branches: []string{"dev"}}, ids("B")},
			{status.ChangeQuery{Repositories: []string{repo2}}, ids("C")},
			{status.ChangeQuery{Projects: []string{"one"}}, ids("D", "B", "A")},
			{status.ChangeQuery{Codebases: []string{"cb2"}}, ids("C")},
			{status.ChangeQuery{Authors: []string{"alice@example.org"}}, ids("C", "A")},
			{status.ChangeQuery{Authors: []string{"Bob"}}, ids("B")},
			{status.ChangeQuery{Before: fx.ids["C"]}, ids("B", "A")},
			{status.ChangeQuery{Before: fx.ids["C"], Limit: 1}, ids("B")},
		} {
			cs, err := h.Changes(ctx(), tc.q)
			require.NoError(t, err)
			got := []int64{}
			for _, c := range cs {
				got = append(got, c.ID)
			}
			assert.Equal(t, tc.want, got, "Changes(%+v)", tc.q)
		}
		a, err := h.Change(ctx(), fx.ids["A"])
		require.NoError(t, err)
		assert.Equal(t, "Alice <alice@example.org>", a.Author)
		assert.Equal(t, fx.revs["A"], a.Revision)
		assert.True(t, a.When.Equal(at(10*time.Minute)), "a change without a time gets the receive time: %v", a.When)
		b, err := h.Change(ctx(), fx.ids["B"])
		require.NoError(t, err)
		assert.True(t, b.When.Equal(at(5*time.Minute)), "a change's own time is kept: %v", b.When)
		_, err = h.Change(ctx(), 987654)
		assert.ErrorIs(t, err, status.ErrNotFound)
	})
	t.Run("Workers", func(t *testing.T) {
		ws, err := h.Workers(ctx())
		require.NoError(t, err)
		require.Len(t, ws, 2)
		assert.Equal(t, "w1", ws[0].Name, "sorted by name")
		assert.Equal(t, "debian", ws[0].Host)
		assert.Equal(t, "w2", ws[1].Name)
		assert.False(t, ws[1].Connected, "w2 disconnected")
		if !restarted {
			assert.True(t, ws[0].Connected, "w1 connected")
			assert.True(t, ws[0].LastSeen.Equal(at(time.Minute*2)), "LastSeen from the event: %v", ws[0].LastSeen)
		}
	})
	if !restarted {
		t.Run("Pending", func(t *testing.T) {
			ids := func(rs []status.BuildRequest) string {
				var out []string
				for _, r := range rs {
					out = append(out, r.ID)
				}
				return strings.Join(out, " ")
			}
			all, err := h.Pending(ctx(), "")
			require.NoError(t, err)
			assert.Equal(t, "r2 r1", ids(all), "oldest first, cancelled ones gone")
			linux, err := h.Pending(ctx(), "linux")
			require.NoError(t, err)
			assert.Equal(t, "r1", ids(linux))
			none, err := h.Pending(ctx(), "win")
			require.NoError(t, err)
			assert.Empty(t, none)
		})
	}
	t.Run("Users", func(t *testing.T) {
		us, err := h.Users(ctx())
		require.NoError(t, err)
		var got []string
		for _, u := range us {
			got = append(got, u.Name)
		}
		assert.Subset(t, got, []string{"Alice <alice@example.org>", "Bob <bob@example.org>", "Carol <carol@example.org>"},
			"a user per change author")
	})
}
