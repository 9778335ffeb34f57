package gerrit

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
)

func (f *fakeREST) rest() *REST {
	return &REST{BaseURL: f.srv.URL + "/", Username: f.user, Password: status.Secret(f.pass)}
}

func TestRESTReview(t *testing.T) {
	f := newFakeREST(t)
	r := mustNew(t, Options{REST: f.rest(), Notify: NotifyOwnerReviewers, Review: func(*status.Build) Review {
		return Review{Message: hardMessages["non-ascii"] + "\n" + hardMessages["injection"], Labels: map[string]int{"Verified": -1}}
	}})
	if err := report(t, r, finished(gerritBuild("linux", 7).Failed().Build())); err != nil {
		t.Fatalf("Report: %v", err)
	}
	got := f.Reviews()
	if len(got) != 1 {
		t.Fatalf("%d reviews, want 1", len(got))
	}
	rv := got[0]
	if rv.Path != "/a/changes/infra%2Fherald~4711/revisions/3/review" {
		t.Errorf("path %s, want the project's slash escaped in project~number", rv.Path)
	}
	want := reviewInput{
		Message: hardMessages["non-ascii"] + "\n" + hardMessages["injection"],
		Tag:     DefaultTag, Labels: map[string]int{"Verified": -1}, Notify: "OWNER_REVIEWERS",
	}
	golden(t, "rest-body.golden", rv.Body)
	if rv.Input.Message != want.Message || rv.Input.Tag != want.Tag || rv.Input.Notify != want.Notify ||
		len(rv.Input.Labels) != 1 || rv.Input.Labels["Verified"] != -1 {
		t.Errorf("input %+v\nwant %+v", rv.Input, want)
	}
}

func TestRESTCommitWithoutPatchSetNumber(t *testing.T) {
	f := newFakeREST(t)
	r := mustNew(t, Options{REST: f.rest()})
	b := gerritBuild("linux", 7).Succeeded().Build()
	delete(b.Properties, "event.patchSet.number")
	if err := report(t, r, buildSetFinished(b)); err != nil {
		t.Fatal(err)
	}
	if got := f.Reviews(); len(got) != 1 || got[0].Revision != testCommit {
		t.Fatalf("reviews %+v, want one on revision %s", got, testCommit)
	}
	// Without a change number REST cannot address the change.
	b.Properties = map[string]any{"gerrit_branch": "main"}
	err := report(t, r, buildSetFinished(b))
	if err == nil || status.IsRetryable(err) || !strings.Contains(err.Error(), "needs one") {
		t.Fatalf("Report = %v; want a permanent error explaining the change number is needed", err)
	}
}

func TestRESTErrors(t *testing.T) {
	f := newFakeREST(t)
	ev := buildSetFinished(gerritBuild("linux", 7).Succeeded().Build())
	for _, tc := range []struct {
		name      string
		fail      func(w http.ResponseWriter, r *http.Request) bool
		opts      func(*REST)
		ev        status.Event
		is        error
		retryable bool
		after     time.Duration
		contains  string
	}{
		{name: "wrong password", opts: func(o *REST) { o.Password = "wrong-password" }, is: ErrAuth, contains: "REST.Password"},
		{name: "forbidden", fail: func(w http.ResponseWriter, _ *http.Request) bool {
			plain(w, http.StatusForbidden, "Applying label \"Verified\": -1 is restricted")
			return true
		}, is: ErrAuth, contains: "is restricted"},
		{name: "unknown change", ev: buildSetFinished(gerritBuild("linux", 7).Property("event.change.number", 999).Succeeded().Build()),
			is: status.ErrNotFound, contains: "Not found: infra/herald~999"},
		{name: "closed change", fail: func(w http.ResponseWriter, _ *http.Request) bool {
			plain(w, http.StatusConflict, "change is closed")
			return true
		}, contains: "409 Conflict: change is closed"},
		{name: "server error", fail: func(w http.ResponseWriter, _ *http.Request) bool {
			plain(w, http.StatusInternalServerError, "Internal server error")
			return true
		}, retryable: true, contains: "500"},
		{name: "unavailable with Retry-After", fail: func(w http.ResponseWriter, _ *http.Request) bool {
			w.Header().Set("Retry-After", "7")
			plain(w, http.StatusServiceUnavailable, "maintenance")
			return true
		}, retryable: true, after: 7 * time.Second},
		{name: "refused", opts: func(o *REST) {
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			o.BaseURL = "http://" + ln.Addr().String() + "/"
			_ = ln.Close()
		}, retryable: true, contains: "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.fail = tc.fail
			f.mu.Unlock()
			o := f.rest()
			if tc.opts != nil {
				tc.opts(o)
			}
			e := ev
			if tc.ev.Kind != 0 {
				e = tc.ev
			}
			err := report(t, mustNew(t, Options{REST: o}), e)
			after, retryable := status.RetryAfter(err)
			switch {
			case err == nil:
				t.Fatal("Report succeeded")
			case retryable != tc.retryable:
				t.Errorf("retryable = %v, want %v: %v", retryable, tc.retryable, err)
			case after != tc.after:
				t.Errorf("retry after %v, want %v", after, tc.after)
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("error %v is not %v", err, tc.is)
			case !strings.Contains(err.Error(), tc.contains):
				t.Errorf("error %q does not say %q", err, tc.contains)
			}
		})
	}
}

func TestRESTMessageOnly(t *testing.T) {
	f := newFakeREST(t)
	r := mustNew(t, Options{REST: f.rest(), Tag: "-", StartMessage: status.MustInterpolate("Build started on %(prop:buildername)s")})
	if err := report(t, r, started(gerritBuild("linux", 7).Build())); err != nil {
		t.Fatal(err)
	}
	got := f.Reviews()
	if len(got) != 1 || got[0].Input.Message != "Build started on linux" || got[0].Input.Labels != nil || got[0].Input.Tag != "" {
		t.Fatalf("reviews %+v, want one message without labels or tag", got)
	}
}

func TestRESTBaseURLWithPath(t *testing.T) {
	f := newFakeREST(t)
	prefixed := httptest.NewServer(http.StripPrefix("/gerrit", http.HandlerFunc(f.serve)))
	defer prefixed.Close()
	o := f.rest()
	o.BaseURL = prefixed.URL + "/gerrit" // no trailing slash on purpose
	if err := report(t, mustNew(t, Options{REST: o}), buildSetFinished(gerritBuild("linux", 7).Succeeded().Build())); err != nil {
		t.Fatal(err)
	}
	if got := f.Reviews(); len(got) != 1 || got[0].Change != "infra/herald~4711" {
		t.Fatalf("reviews %+v", got)
	}
}
