package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

var ctx = context.Background()

func feed(t testing.TB, m *store.Memory, evs ...status.Event) {
	t.Helper()
	for _, e := range evs {
		if err := m.Report(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemoryBuildsFromEvents(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{})
	for i := 1; i <= 3; i++ {
		bb := statustest.NewBuild("linux").Number(i).Tags("ci").Started(statustest.Epoch.Add(time.Duration(i)*time.Hour)).
			Step("compile", status.Success).Step("test", status.Result(i%2*2)) // 1, 3 fail
		if i%2 == 1 {
			bb.Failed()
		} else {
			bb.Succeeded()
		}
		feed(t, m, bb.Events()...)
	}
	feed(t, m, statustest.NewBuild("docs").Number(1).Tags("docs").Branch("gh-pages").Property("owner", "bob").
		Started(statustest.Epoch.Add(90*time.Minute)).Step("sphinx", status.Success).Succeeded().Events()...)
	feed(t, m, statustest.NewBuild("linux").Number(4).Started(statustest.Epoch.Add(5*time.Hour)).Running().Events()...)

	builders, _ := m.Builders(ctx)
	if len(builders) != 2 || builders[0].Name != "docs" || builders[1].Name != "linux" || builders[1].State != status.Building {
		t.Fatalf("builders = %+v", builders)
	}
	all, _ := m.Builds(ctx, status.BuildQuery{})
	var order []string
	for _, b := range all {
		order = append(order, fmt.Sprintf("%s#%d", b.Builder, b.Number))
	}
	if got := strings.Join(order, " "); got != "linux#4 linux#3 linux#2 docs#1 linux#1" {
		t.Errorf("newest first = %s", got)
	}
	for _, tc := range []struct {
		q    status.BuildQuery
		want string
	}{
		{status.BuildQuery{Builders: []string{"linux"}, Limit: 2}, "linux#4 linux#3"},
		{status.BuildQuery{Results: []status.Result{status.Failure}}, "linux#3 linux#1"},
		{status.BuildQuery{Branches: []string{"gh-pages"}}, "docs#1"},
		{status.BuildQuery{Tags: []string{"docs"}}, "docs#1"},
		{status.BuildQuery{Running: true}, "linux#4"},
		{status.BuildQuery{Finished: true, Limit: 1}, "linux#3"},
		{status.BuildQuery{Builders: []string{"linux"}, MinNumber: 2, MaxNumber: 3}, "linux#3 linux#2"},
		{status.BuildQuery{Properties: map[string]string{"owner": "bob"}}, "docs#1"},
		{status.BuildQuery{Revision: "0123456"}, "linux#4 linux#3 linux#2 docs#1 linux#1"},
		{status.BuildQuery{Revision: "012345"}, ""},
		{status.BuildQuery{Since: statustest.Epoch.Add(2 * time.Hour), Until: statustest.Epoch.Add(4 * time.Hour)}, "linux#3 linux#2"},
	} {
		got, err := m.Builds(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range got {
			names = append(names, fmt.Sprintf("%s#%d", b.Builder, b.Number))
		}
		if s := strings.Join(names, " "); s != tc.want {
			t.Errorf("Builds(%+v) = %q, want %q", tc.q, s, tc.want)
		}
	}

	b3, err := m.Build(ctx, "linux", 3)
	if err != nil || len(b3.Steps) != 2 || b3.Steps[1].Result != status.Failure || b3.Result != status.Failure {
		t.Fatalf("Build(linux, 3) = %+v, %v", b3, err)
	}
	if b3.Steps[0].Logs[0].Size == 0 {
		t.Errorf("log size not recorded: %+v", b3.Steps[0].Logs)
	}
	if newest, _ := m.Build(ctx, "linux", -1); newest.Number != 4 {
		t.Errorf("Build(-1) = #%d", newest.Number)
	}
	if _, err := m.Build(ctx, "linux", 99); !errors.Is(err, status.ErrNotFound) {
		t.Errorf("Build(99) err = %v", err)
	}
	prev, _ := m.PreviousBuild(ctx, b3)
	if prev == nil || prev.Number != 2 {
		t.Errorf("PreviousBuild(#3) = %v", prev)
	}
	running, _ := m.Build(ctx, "linux", 4)
	if prev, _ := m.PreviousBuild(ctx, running); prev == nil || prev.Number != 3 {
		t.Errorf("PreviousBuild(#4) = %v", prev)
	}
	first, _ := m.Build(ctx, "linux", 1)
	if prev, err := m.PreviousBuild(ctx, first); prev != nil || err != nil {
		t.Errorf("PreviousBuild(#1) = %v, %v; want none", prev, err)
	}

	r, err := m.Log(ctx, b3.Steps[1].Logs[0])
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(r)
	if string(text) != "test: output of stdio\n" {
		t.Errorf("log = %q", text)
	}
}

func TestMemoryLogGrowsWhileReading(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{LogBytes: 40})
	b := statustest.NewBuild("linux").Running().Build()
	st := status.Step{Name: "compile"}
	ref := status.LogRef{Builder: "linux", Build: 1, Step: "compile", Name: "stdio"}
	feed(t, m, status.Event{Kind: status.BuildStarted, Build: b}, status.Event{Kind: status.StepStarted, Build: b, Step: &st},
		status.Event{Kind: status.LogStarted, Build: b, Step: &st, Log: &ref},
		status.Event{Kind: status.LogAppended, Build: b, Step: &st, Log: &ref, Chunk: "line 1\n"})
	r1, _ := m.Log(ctx, ref)
	feed(t, m, status.Event{Kind: status.LogAppended, Build: b, Step: &st, Log: &ref, Chunk: "line 2\n"})
	if got, _ := io.ReadAll(r1); string(got) != "line 1\n" {
		t.Errorf("snapshot reader = %q", got)
	}
	r2, _ := m.Log(ctx, ref)
	if got, _ := io.ReadAll(r2); string(got) != "line 1\nline 2\n" {
		t.Errorf("second reader = %q", got)
	}
	if m.LogDone(ref) {
		t.Error("log done before LogFinished")
	}
	feed(t, m, status.Event{Kind: status.LogAppended, Build: b, Step: &st, Log: &ref, Chunk: strings.Repeat("x", 100)},
		status.Event{Kind: status.LogAppended, Build: b, Step: &st, Log: &ref, Chunk: "lost\n"},
		status.Event{Kind: status.LogFinished, Build: b, Step: &st, Log: &ref})
	r3, _ := m.Log(ctx, ref)
	got, _ := io.ReadAll(r3)
	if !strings.HasPrefix(string(got), "line 1\nline 2\n"+strings.Repeat("x", 26)+"\n[herald: log truncated") || strings.Contains(string(got), "lost") {
		t.Errorf("truncated log = %q", got)
	}
	if !m.LogDone(ref) {
		t.Error("log not done after LogFinished")
	}
	if _, err := m.Log(ctx, status.LogRef{Builder: "linux", Build: 1, Step: "compile", Name: "nope"}); !errors.Is(err, status.ErrNotFound) {
		t.Errorf("missing log err = %v", err)
	}
}

func TestMemoryRetention(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{BuildsPerBuilder: 3, Changes: 2})
	for i := 1; i <= 5; i++ {
		feed(t, m, statustest.NewBuild("linux").Number(i).Step("s", status.Success).Succeeded().Events()...)
		c := statustest.NewChange(int64(i), "Alice <alice@example.org>")
		feed(t, m, status.Event{Kind: status.ChangeAdded, Change: &c})
	}
	builds, _ := m.Builds(ctx, status.BuildQuery{Builders: []string{"linux"}})
	if len(builds) != 3 || builds[2].Number != 3 {
		t.Errorf("kept %d builds, oldest #%d", len(builds), builds[len(builds)-1].Number)
	}
	if _, err := m.Log(ctx, status.LogRef{Builder: "linux", Build: 1, Step: "s", Name: "stdio"}); !errors.Is(err, status.ErrNotFound) {
		t.Error("logs of a dropped build kept")
	}
	cs, _ := m.Changes(ctx, status.ChangeQuery{})
	if len(cs) != 2 || cs[0].ID != 5 || cs[1].ID != 4 {
		t.Errorf("changes = %+v", cs)
	}
}

func TestMemoryChangesWorkersPendingUsers(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{})
	for i, who := range []string{"Alice <alice@example.org>", "Bob <bob@example.org>", "Alice <alice@example.org>"} {
		c := statustest.NewChange(0, who)
		c.Branch = []string{"main", "dev", "main"}[i]
		feed(t, m, status.Event{Kind: status.ChangeAdded, Change: &c})
	}
	cs, _ := m.Changes(ctx, status.ChangeQuery{Authors: []string{"alice@example.org"}})
	if len(cs) != 2 || cs[0].ID != 3 || cs[1].ID != 1 {
		t.Errorf("changes by alice = %+v", cs)
	}
	if cs, _ := m.Changes(ctx, status.ChangeQuery{Branches: []string{"dev"}}); len(cs) != 1 || cs[0].ID != 2 {
		t.Errorf("dev changes = %+v", cs)
	}
	if cs, _ := m.Changes(ctx, status.ChangeQuery{Before: 3, Limit: 1}); len(cs) != 1 || cs[0].ID != 2 {
		t.Errorf("paged changes = %+v", cs)
	}
	if c, err := m.Change(ctx, 2); err != nil || c.Author != "Bob <bob@example.org>" {
		t.Errorf("Change(2) = %+v, %v", c, err)
	}
	users, _ := m.Users(ctx)
	if len(users) != 2 || users[0].Email != "alice@example.org" || users[0].FullName != "Alice" {
		t.Errorf("users = %+v", users)
	}
	w := status.Worker{Name: "w1", Host: "debian"}
	feed(t, m, status.Event{Kind: status.WorkerConnected, Worker: &w, Time: statustest.Epoch})
	ws, _ := m.Workers(ctx)
	if len(ws) != 1 || !ws[0].Connected || !ws[0].LastSeen.Equal(statustest.Epoch) {
		t.Errorf("workers = %+v", ws)
	}
	feed(t, m, status.Event{Kind: status.WorkerDisconnected, Worker: &w})
	if ws, _ := m.Workers(ctx); ws[0].Connected {
		t.Error("worker still connected")
	}
	r1 := status.BuildRequest{ID: "1", Builder: "linux", Submitted: statustest.Epoch}
	r2 := status.BuildRequest{ID: "2", Builder: "docs", Submitted: statustest.Epoch.Add(time.Second)}
	feed(t, m, status.Event{Kind: status.BuilderAdded, Builder: &status.Builder{Name: "linux"}},
		status.Event{Kind: status.RequestSubmitted, Request: &r1}, status.Event{Kind: status.RequestSubmitted, Request: &r2})
	if p, _ := m.Pending(ctx, ""); len(p) != 2 || p[0].ID != "1" {
		t.Errorf("pending = %+v", p)
	}
	if b, _ := m.Builder(ctx, "linux"); b.Pending != 1 {
		t.Errorf("linux pending = %d", b.Pending)
	}
	feed(t, m, status.Event{Kind: status.RequestCancelled, Request: &r1})
	if p, _ := m.Pending(ctx, "linux"); len(p) != 0 {
		t.Errorf("pending after cancel = %+v", p)
	}
}

func TestMemoryConcurrentReadWrite(t *testing.T) {
	m := store.NewMemory(store.MemoryOptions{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 1; i <= 50; i++ {
			feed(t, m, statustest.NewBuild("linux").Number(i).Step("a", status.Success).Step("b", status.Failure).Failed().Events()...)
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
}

func TestMemoryConformance(t *testing.T) {
	statustest.Conformance(t, func() status.Reporter { return store.NewMemory(store.MemoryOptions{}) })
}

func TestMemoryThroughHub(t *testing.T) {
	h := status.NewHub(status.HubOptions{})
	m := store.NewMemory(store.MemoryOptions{})
	h.Add(m)
	for _, e := range statustest.NewBuild("linux").Step("compile", status.Success).Succeeded().Events() {
		h.Publish(e)
	}
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := m.Build(ctx, "linux", 1)
	if err != nil || !b.Done() || len(b.Steps) != 1 {
		t.Fatalf("Build = %+v, %v", b, err)
	}
	if st := h.Stats(); st[0].Name != "store.Memory" || st[0].Delivered != 7 {
		t.Errorf("stats = %+v", st)
	}
}
