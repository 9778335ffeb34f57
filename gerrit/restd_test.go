package gerrit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fakeREST is a double of Gerrit's set-review endpoint that checks each
// request as Gerrit does: the authenticated /a/ prefix, HTTP basic auth,
// the change and revision identifiers, a JSON ReviewInput with only known
// fields; and answers with Gerrit's )]}' prefixed JSON, or text/plain
// errors with Gerrit's status codes.
type fakeREST struct {
	srv        *httptest.Server
	user, pass string

	mu      sync.Mutex
	changes map[string][]string // "project~number" → revisions ("3", commit ids)
	reviews []restReview
	// fail, when set, answers instead of the review logic.
	fail func(w http.ResponseWriter, r *http.Request) bool
}

// restReview is one accepted review.
type restReview struct {
	Path     string // escaped, as sent
	Change   string // decoded project~number
	Revision string
	Input    reviewInput
	Body     string // as sent
}

// reviewInput is the subset of Gerrit's ReviewInput Herald may send; a
// field outside it is a client bug.
type reviewInput struct {
	Message string         `json:"message"`
	Tag     string         `json:"tag"`
	Labels  map[string]int `json:"labels"`
	Notify  string         `json:"notify"`
}

var reviewPath = regexp.MustCompile(`^/a/changes/([^/]+)/revisions/([^/]+)/review$`)

func newFakeREST(t testing.TB) *fakeREST {
	f := &fakeREST{user: "herald-bot", pass: "s3cr3t-http-password", changes: map[string][]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.AddPatchSet(testProject, testChange, testPatchSet, testCommit)
	return f
}

func (f *fakeREST) AddPatchSet(project string, change, patchSet int, commit string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("%s~%d", project, change)
	f.changes[id] = append(f.changes[id], fmt.Sprint(patchSet), commit)
}

func (f *fakeREST) Reviews() []restReview {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]restReview(nil), f.reviews...)
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

func (f *fakeREST) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail != nil && fail(w, r) {
		return
	}
	m := reviewPath.FindStringSubmatch(r.URL.EscapedPath())
	if m == nil {
		plain(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.Method != http.MethodPost {
		plain(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.pass {
		w.Header().Set("WWW-Authenticate", `Basic realm="Gerrit Code Review"`)
		plain(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		plain(w, http.StatusUnsupportedMediaType, "Expected Content-Type: application/json, got "+ct)
		return
	}
	change, err1 := url.PathUnescape(m[1])
	revision, err2 := url.PathUnescape(m[2])
	if err1 != nil || err2 != nil {
		plain(w, http.StatusBadRequest, "bad path")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		plain(w, http.StatusBadRequest, err.Error())
		return
	}
	var in reviewInput
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		plain(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	switch in.Notify {
	case "", "NONE", "OWNER", "OWNER_REVIEWERS", "ALL":
	default:
		plain(w, http.StatusBadRequest, "Invalid notify: "+in.Notify)
		return
	}
	for name := range in.Labels {
		if !isLabelName(name) {
			plain(w, http.StatusBadRequest, "label \""+name+"\" is not a configured label")
			return
		}
	}
	f.mu.Lock()
	revs, ok := f.changes[change]
	known := ok && (revision == "current" || containsStr(revs, revision))
	if known {
		f.reviews = append(f.reviews, restReview{Path: r.URL.EscapedPath(), Change: change, Revision: revision, Input: in, Body: string(raw)})
	}
	f.mu.Unlock()
	if !ok {
		plain(w, http.StatusNotFound, "Not found: "+change)
		return
	}
	if !known {
		plain(w, http.StatusNotFound, "Not found: "+revision)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	out, _ := json.Marshal(map[string]any{"labels": in.Labels})
	_, _ = io.WriteString(w, ")]}'\n"+string(out)+"\n")
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s && s != "" {
			return true
		}
	}
	return false
}
