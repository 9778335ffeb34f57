package mail

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want Mode
	}{
		{nil, DefaultMode},
		{[]string{"all"}, All},
		{[]string{"warnings"}, WarningsOrWorse},
		{[]string{"warnings", "exception"}, Warnings | Exception},
		{[]string{"failing,passing"}, Failing | Passing},
		{[]string{"problem change"}, Problem | Change},
		{[]string{"fixed", "first-failure", "still_failing"}, Fixed | FirstFailure | StillFailing},
		{[]string{"FAILING"}, Failing},
	} {
		got, err := ParseMode(tc.in...)
		if err != nil || got != tc.want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	_, err := ParseMode("failing", "sometimes")
	if err == nil || !strings.Contains(err.Error(), `"sometimes"`) || !strings.Contains(err.Error(), "still-failing") {
		t.Errorf("ParseMode(unknown) error = %v, want one naming the mode and listing the valid ones", err)
	}
	if s := (Failing | Problem | StillFailing).String(); s != "failing,problem,still-failing" {
		t.Errorf("String = %q", s)
	}
	var m Mode
	if err := m.UnmarshalText([]byte("change,exception")); err != nil || m != Change|Exception {
		t.Errorf("UnmarshalText = %v, %v", m, err)
	}
}

// TestModes runs every mode over sequences of builds of one builder through
// a Notifier with a real History, and checks send / no send per row. The
// expectations are written out from Buildbot 0.8.12's isMailNeeded (and the
// email-ext definitions of the added modes), not computed.
func TestModes(t *testing.T) {
	const (
		S = status.Success
		W = status.Warnings
		F = status.Failure
		E = status.Exception
	)
	scenarios := []struct {
		name  string
		prev  []status.Result // earlier builds, oldest first
		cur   status.Result
		fires Mode
	}{
		{"first build passes", nil, S, Passing},
		{"first build fails", nil, F, Failing | FirstFailure},
		{"first build warns", nil, W, Warnings},
		{"first build raises", nil, E, Exception},
		{"success to success", []status.Result{S}, S, Passing},
		{"success to failure", []status.Result{S}, F, Change | Failing | Problem | FirstFailure},
		{"failure to failure", []status.Result{S, F}, F, Failing | StillFailing},
		{"failure to success", []status.Result{F}, S, Change | Passing | Fixed},
		{"success to exception", []status.Result{S}, E, Change | Exception},
		{"exception to exception", []status.Result{E}, E, Exception},
		{"success to warnings", []status.Result{S}, W, Change | Warnings},
		{"warnings to failure", []status.Result{W}, F, Change | Failing | Problem | FirstFailure},
		{"warnings to success", []status.Result{W}, S, Change | Passing | Fixed},
		{"exception to failure", []status.Result{E}, F, Change | Failing | Problem | FirstFailure},
	}
	modes := []Mode{Change, Failing, Passing, Problem, Warnings, Exception, Fixed, FirstFailure, StillFailing,
		All, WarningsOrWorse, DefaultMode, Problem | Fixed}
	for _, sc := range scenarios {
		for _, mode := range modes {
			want := sc.fires&mode != 0
			t.Run(fmt.Sprintf("%s/%v", sc.name, mode), func(t *testing.T) {
				h := statustest.NewHistory()
				for i, r := range sc.prev {
					h.AddBuild(statustest.NewBuild("b").Number(i + 1).Result(r).Build())
				}
				cur := statustest.NewBuild("b").Number(len(sc.prev) + 1).Result(sc.cur).Build()
				h.AddBuild(cur)
				rec := &recorder{}
				n, err := New(Options{From: "ci@example.org", ExtraRecipients: []string{"list@example.org"},
					Mode: mode, History: h, Sender: rec, Logger: newLogger(&testkit.Buffer{})})
				if err != nil {
					t.Fatal(err)
				}
				if err := n.Report(context.Background(), finished(cur)); err != nil {
					t.Fatal(err)
				}
				if got := len(rec.all()) == 1; got != want {
					t.Errorf("mode %v after %v → %v: sent = %v, want %v", mode, sc.prev, sc.cur, got, want)
				}
			})
		}
	}
}

// TestPreviousBuildGetter: a getter that returns nil suppresses change and
// problem mails; one that returns another build is compared with.
func TestPreviousBuildGetter(t *testing.T) {
	cur := statustest.NewBuild("b").Number(5).Failed().Build()
	for _, tc := range []struct {
		name string
		prev *status.Build
		want int
	}{
		{"none", nil, 0},
		{"passing", statustest.NewBuild("b").Number(3).Succeeded().Build(), 1},
		{"failing", statustest.NewBuild("b").Number(4).Failed().Build(), 0},
	} {
		rec := &recorder{}
		var asked *status.Build
		n, err := New(Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"}, Mode: Problem, Sender: rec,
			PreviousBuild: func(_ context.Context, b *status.Build) (*status.Build, error) { asked = b; return tc.prev, nil }})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Report(context.Background(), finished(cur)); err != nil {
			t.Fatal(err)
		}
		if asked != cur || len(rec.all()) != tc.want {
			t.Errorf("%s: asked %v, sent %d, want %d", tc.name, asked, len(rec.all()), tc.want)
		}
	}
}

// TestStillFailingInterval: reminders are spaced by build finish time.
func TestStillFailingInterval(t *testing.T) {
	h := statustest.NewHistory()
	rec := &recorder{}
	n, err := New(Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"}, Mode: FirstFailure | StillFailing,
		StillFailingInterval: 3 * 60 * 1e9, History: h, Sender: rec})
	if err != nil {
		t.Fatal(err)
	}
	var sentFor []int
	for i := 1; i <= 6; i++ {
		b := statustest.NewBuild("b").Number(i).Started(statustest.Epoch.Add(time.Duration(i) * time.Minute)).Failed().Build()
		h.AddBuild(b)
		before := len(rec.all())
		if err := n.Report(context.Background(), finished(b)); err != nil {
			t.Fatal(err)
		}
		if len(rec.all()) > before {
			sentFor = append(sentFor, i)
		}
	}
	// #1 first failure; #2, #3 within 3 minutes of #1; #4 is 3 minutes later.
	if fmt.Sprint(sentFor) != "[1 4]" {
		t.Errorf("mails for builds %v, want [1 4]", sentFor)
	}
}
