package status_test

import (
	"context"
	"errors"
	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestMatchers(t *testing.T) {
	linux := statustest.NewBuild("linux").Tags("ci", "unix").Failed().Build()
	docs := statustest.NewBuild("docs").Tags("docs").Succeeded().Build()
	change := statustest.NewChange(1, "Alice <a@x>")
	evs := map[string]status.Event{
		"linux-finished": {Kind: status.BuildFinished, Build: linux},
		"linux-started":  {Kind: status.BuildStarted, Build: linux},
		"docs-finished":  {Kind: status.BuildFinished, Build: docs},
		"docs-builder":   {Kind: status.BuilderAdded, Builder: &status.Builder{Name: "docs", Tags: []string{"docs"}}},
		"linux-request":  {Kind: status.RequestSubmitted, Request: &status.BuildRequest{Builder: "linux"}},
		"change":         {Kind: status.ChangeAdded, Change: &change},
		"master":         {Kind: status.MasterStarted},
	}
	for _, tc := range []struct {
		name string
		m    status.Match
		want []string
	}{
		{"Builders(linux)", status.Builders("linux"), []string{"linux-finished", "linux-started", "linux-request"}},
		{"Builders()", status.Builders(), nil},
		{"Tags(docs)", status.Tags("docs"), []string{"docs-finished", "docs-builder"}},
		{"Tags(unix,docs)", status.Tags("unix", "docs"), []string{"linux-finished", "linux-started", "docs-finished", "docs-builder"}},
		{"Kinds(BuildFinished,ChangeAdded)", status.Kinds(status.BuildFinished, status.ChangeAdded), []string{"linux-finished", "docs-finished", "change"}},
		{"Results(Failure)", status.Results(status.Failure), []string{"linux-finished"}},
		{"Or(Tags(docs),Kinds(MasterStarted))", status.Or(status.Tags("docs"), status.Kinds(status.MasterStarted)), []string{"docs-finished", "docs-builder", "master"}},
		{"And(Tags(ci),Results(Failure))", status.And(status.Tags("ci"), status.Results(status.Failure)), []string{"linux-finished"}},
		{"Not(Kinds(MasterStarted))", status.Not(status.Kinds(status.MasterStarted)), []string{"linux-finished", "linux-started", "docs-finished", "docs-builder", "linux-request", "change"}},
	} {
		for name, e := range evs {
			want := false
			for _, w := range tc.want {
				want = want || w == name
			}
			if got := tc.m(e); got != want {
				t.Errorf("%s(%s) = %v, want %v", tc.name, name, got, want)
			}
		}
	}
}

func TestFilterAndMulti(t *testing.T) {
	var a, b statustest.Recorder
	r := status.Multi(status.Filter(&a, status.Builders("linux")), &b)
	for _, e := range statustest.NewBuild("linux").Step("compile", status.Success).Succeeded().Events() {
		if err := r.Report(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	_ = r.Report(context.Background(), status.Event{Kind: status.BuildStarted, Build: statustest.NewBuild("docs").Build()})
	if a.Len() != 7 || b.Len() != 8 {
		t.Errorf("filtered got %d events (want 7), unfiltered %d (want 8)", a.Len(), b.Len())
	}
	if err := r.(status.Closer).Close(context.Background()); err != nil || !a.Closed() || !b.Closed() {
		t.Errorf("Close = %v; closed a=%v b=%v", err, a.Closed(), b.Closed())
	}
}

func TestMultiJoinsErrors(t *testing.T) {
	boom := errors.New("boom")
	flaky := status.ReporterFunc(func(context.Context, status.Event) error { return status.Retryable(errors.New("503"), 0) })
	bad := status.ReporterFunc(func(context.Context, status.Event) error { return boom })
	err := status.Multi(flaky, status.Discard, bad).Report(context.Background(), status.Event{Kind: status.MasterStarted})
	if !errors.Is(err, boom) || !status.IsRetryable(err) {
		t.Errorf("Multi error = %v: want it to wrap boom and be retryable", err)
	}
}

func TestConformanceOfCoreReporters(t *testing.T) {
	t.Run("Discard", func(t *testing.T) { statustest.Conformance(t, func() status.Reporter { return status.Discard }) })
	t.Run("Multi", func(t *testing.T) {
		statustest.Conformance(t, func() status.Reporter { return status.Multi(&statustest.Recorder{}, status.Discard) })
	})
	t.Run("Filter", func(t *testing.T) {
		statustest.Conformance(t, func() status.Reporter { return status.Filter(&statustest.Recorder{}, status.Tags("ci")) })
	})
	t.Run("Recorder", func(t *testing.T) {
		statustest.Conformance(t, func() status.Reporter { return &statustest.Recorder{} })
	})
}
