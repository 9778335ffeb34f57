package gerrit

import (
	"fmt"
	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestDefaultSummary(t *testing.T) {
	ok := func(builder string, n int) *status.Build { return gerritBuild(builder, n).Succeeded().Build() }
	for _, tc := range []struct {
		name     string
		builds   []*status.Build
		verified int // 0: no review at all
	}{
		{"all-success", []*status.Build{ok("windows", 4), ok("linux", 7), ok("darwin", 2)}, 1},
		{"one-failure", []*status.Build{ok("linux", 7), gerritBuild("windows", 4).Step("compile", status.Success).Step("test", status.Failure).Failed().Build()}, -1},
		{"exception", []*status.Build{ok("linux", 7), gerritBuild("windows", 4).Result(status.Exception).Build()}, -1},
		{"warnings", []*status.Build{ok("linux", 7), gerritBuild("windows", 4).Result(status.Warnings).Build()}, -1},
		// A retried build superseded by its rerun is left out...
		{"retry-then-success", []*status.Build{gerritBuild("linux", 7).Result(status.Retry).Build(), ok("linux", 8), ok("windows", 4)}, 1},
		// ...but one that was never rerun counts against the change.
		{"retry-alone", []*status.Build{gerritBuild("linux", 7).Result(status.Retry).Build(), ok("windows", 4)}, -1},
		{"no-url", []*status.Build{statustest.NewBuild("linux").Number(7).Succeeded().Build()}, 1},
		{"empty", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := buildSetFinished(tc.builds...)
			rv := DefaultSummary(ev.BuildSet)
			if tc.verified == 0 {
				if !rv.IsZero() {
					t.Fatalf("review %+v for no builds, want none", rv)
				}
				return
			}
			if len(rv.Labels) != 1 || rv.Labels["Verified"] != tc.verified {
				t.Errorf("labels %v, want Verified=%d", rv.Labels, tc.verified)
			}
			golden(t, "summary-"+tc.name+".golden", fmt.Sprintf("Verified=%d\n\n%s\n", rv.Labels["Verified"], rv.Message))
		})
	}
}

func TestDefaultReview(t *testing.T) {
	for _, tc := range []struct {
		r        status.Result
		verified int
	}{{status.Success, 1}, {status.Warnings, -1}, {status.Failure, -1}, {status.Exception, -1}, {status.Cancelled, -1}} {
		b := gerritBuild("linux", 7).Result(tc.r).Build()
		rv := DefaultReview(b)
		if rv.Labels["Verified"] != tc.verified {
			t.Errorf("%v: Verified=%d, want %d", tc.r, rv.Labels["Verified"], tc.verified)
		}
		if tc.r == status.Failure {
			golden(t, "review-failure.golden", rv.Message)
		}
	}
	if rv := DefaultReview(gerritBuild("linux", 7).Result(status.Retry).Build()); !rv.IsZero() {
		t.Errorf("retry: %+v, want no review", rv)
	}
}

func TestResultText(t *testing.T) {
	seen := map[string]status.Result{}
	for r := status.Success; r <= status.Cancelled; r++ {
		txt := ResultText(r)
		if prev, dup := seen[txt]; dup {
			t.Errorf("%v and %v both read %q", prev, r, txt)
		}
		seen[txt] = r
	}
	if got := ResultText(status.Result(42)); got != "completed with unknown result 42" {
		t.Errorf("unknown result: %q", got)
	}
}
