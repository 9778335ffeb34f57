package status_test

import (
	"encoding/json"
	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestResultNamesAndOrder(t *testing.T) {
	want := []string{"success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"}
	for i, r := range status.AllResults() {
		if int(r) != i || r.String() != want[i] {
			t.Errorf("result %d = %d %q, want %d %q (Buildbot's order)", i, int(r), r, i, want[i])
		}
		got, err := status.ParseResult(want[i])
		if err != nil || got != r {
			t.Errorf("ParseResult(%q) = %v, %v", want[i], got, err)
		}
	}
}

func TestParseResult(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want status.Result
		ok   bool
	}{
		{"SUCCESS", status.Success, true},
		{" failure ", status.Failure, true},
		{"canceled", status.Cancelled, true},
		{"warning", status.Warnings, true},
		{"4", status.Exception, true},
		{"7", 0, false},
		{"", 0, false},
		{"broken", 0, false},
	} {
		got, err := status.ParseResult(tc.in)
		if (err == nil) != tc.ok || tc.ok && got != tc.want {
			t.Errorf("ParseResult(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if got := status.Result(42).String(); got != "result(42)" {
		t.Errorf("String of invalid = %q", got)
	}
}

func TestWorst(t *testing.T) {
	S, W, F, K, E, R, C := status.Success, status.Warnings, status.Failure, status.Skipped, status.Exception, status.Retry, status.Cancelled
	for _, tc := range []struct{ a, b, want status.Result }{
		{S, S, S}, {S, W, W}, {W, F, F}, {F, E, E}, {E, R, R}, {R, C, C},
		{K, S, S}, {S, K, S}, {K, K, K}, {C, F, C}, {F, W, F},
	} {
		if got := status.Worst(tc.a, tc.b); got != tc.want {
			t.Errorf("Worst(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestResultJSON(t *testing.T) {
	b, err := json.Marshal(struct{ R status.Result }{status.Exception})
	if err != nil || string(b) != `{"R":"exception"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var v struct{ R status.Result }
	if err := json.Unmarshal([]byte(`{"R":"warnings"}`), &v); err != nil || v.R != status.Warnings {
		t.Fatalf("Unmarshal = %v, %v", v.R, err)
	}
	if err := json.Unmarshal([]byte(`{"R":"meh"}`), &v); err == nil {
		t.Fatal("Unmarshal of an unknown name succeeded")
	}
}

func TestKindNames(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range status.AllKinds() {
		name := k.String()
		if seen[name] {
			t.Errorf("duplicate kind name %q", name)
		}
		seen[name] = true
		back, err := status.ParseKind(name)
		if err != nil || back != k {
			t.Errorf("ParseKind(%q) = %v, %v", name, back, err)
		}
	}
	if len(seen) != 20 {
		t.Errorf("%d kinds, want the 20 of DESIGN.md", len(seen))
	}
	if _, err := status.ParseKind("buildExploded"); err == nil {
		t.Error("ParseKind accepted an unknown name")
	}
}

func TestBuildSummary(t *testing.T) {
	for _, tc := range []struct {
		b    *status.Build
		want string
	}{
		{statustest.NewBuild("linux").Number(7).Build(), "Build #7 started."},
		{statustest.NewBuild("linux").Number(7).Succeeded().Build(), "Build #7 succeeded."},
		{statustest.NewBuild("linux").Number(7).Step("test", status.Failure).Failed().Build(), "Build #7 failed: failed test"},
		{statustest.NewBuild("linux").Number(8).Text("lost", "worker").Result(status.Exception).Build(), "Build #8 hit an exception: lost worker"},
		{statustest.NewBuild("linux").Number(9).Text().Result(status.Cancelled).Build(), "Build #9 was cancelled: build cancelled"},
	} {
		if got := tc.b.Summary(); got != tc.want {
			t.Errorf("Summary = %q, want %q", got, tc.want)
		}
	}
}
