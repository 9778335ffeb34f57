package github

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fakeGitHub is a double of GitHub's commit status API at the wire. It
// answers like GitHub (201 with the status, 401, 404, 422, rate-limit
// headers on every answer) and fails the test when a request is malformed
// in a way GitHub would reject or that the reporter promised never to send
// (a description over 140 characters, a status past the 1000 cap).
type fakeGitHub struct {
	t      testing.TB
	srv    *httptest.Server
	prefix string
	token  string

	mu     sync.Mutex
	repos  map[string]bool             // lower-case "owner/name"
	shas   map[string]bool             // known commits, lower-case; nil: any 40-hex
	counts map[string]int              // statuses per "owner/name@sha context"
	faults []func(http.ResponseWriter) // answers for the next requests, in order
	log    []fakeRequest
	limit  int
	used   int
	reset  time.Time
	notify chan struct{}
}

// fakeRequest is one request as the double saw it.
type fakeRequest struct {
	At                                  time.Time
	Owner, Repo, SHA                    string
	State, Context, Description, Target string
	Code                                int
}

func (r fakeRequest) String() string {
	return fmt.Sprintf("POST %s/%s@%s state=%s context=%q description=%q target_url=%q -> %d",
		r.Owner, r.Repo, r.SHA, r.State, r.Context, r.Description, r.Target, r.Code)
}

var (
	statusPath = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/statuses/([^/]+)$`)
	fullSHA    = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)
)

// newFakeGitHub serves GitHub Enterprise's API under /api/v3: go-github
// talks to any host but api.github.com there.
func newFakeGitHub(t testing.TB, token string, repos ...string) *fakeGitHub {
	f := &fakeGitHub{
		t: t, prefix: "/api/v3", token: token,
		repos:  map[string]bool{},
		counts: map[string]int{},
		limit:  5000,
		reset:  time.Now().Add(time.Hour),
	}
	for _, r := range repos {
		f.repos[strings.ToLower(r)] = true
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the base URL a reporter should use.
func (f *fakeGitHub) URL() string { return f.srv.URL + f.prefix + "/" }

// fail queues answers for the next requests, which still must be valid.
func (f *fakeGitHub) fail(answers ...func(http.ResponseWriter)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, answers...)
}

func (f *fakeGitHub) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.log...)
}

// wait returns once n requests have been answered.
func (f *fakeGitHub) wait(n int, timeout time.Duration) []fakeRequest {
	f.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		if len(f.log) >= n {
			log := append([]fakeRequest(nil), f.log...)
			f.mu.Unlock()
			return log
		}
		if f.notify == nil {
			f.notify = make(chan struct{})
		}
		ch, got := f.notify, len(f.log)
		f.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			f.t.Fatalf("fake GitHub: %d of %d requests after %v", got, n, timeout)
		}
	}
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := fakeRequest{At: time.Now()}
	code := f.handle(w, r, &req)
	req.Code = code
	f.log = append(f.log, req)
	if f.notify != nil {
		close(f.notify)
		f.notify = nil
	}
}

// handle answers one request and returns the status code it wrote.
func (f *fakeGitHub) handle(w http.ResponseWriter, r *http.Request, req *fakeRequest) int {
	t := f.t
	f.used++
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(f.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(f.limit-f.used, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(f.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(f.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")

	path, ok := strings.CutPrefix(r.URL.Path, f.prefix)
	m := statusPath.FindStringSubmatch(path)
	if !ok || m == nil || r.Method != http.MethodPost {
		return f.answer(w, http.StatusNotFound, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`)
	}
	req.Owner, req.Repo, req.SHA = m[1], m[2], m[3]

	if r.UserAgent() == "" {
		t.Errorf("fake GitHub: request without User-Agent")
		return f.answer(w, http.StatusForbidden, `{"message":"Request forbidden by administrative rules. Please make sure your request has a User-Agent header"}`)
	}
	switch auth := r.Header.Get("Authorization"); {
	case auth == "":
		return f.answer(w, http.StatusUnauthorized, `{"message":"Requires authentication","documentation_url":"https://docs.github.com/rest"}`)
	case auth != "Bearer "+f.token && auth != "token "+f.token:
		return f.answer(w, http.StatusUnauthorized, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`)
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v != "" && v != "2022-11-28" {
		t.Errorf("fake GitHub: X-GitHub-Api-Version %q", v)
		return f.answer(w, http.StatusBadRequest, `{"message":"Unsupported 'X-GitHub-Api-Version'"}`)
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/vnd.github") {
		t.Errorf("fake GitHub: Accept %q, want application/vnd.github.v3+json", r.Header.Get("Accept"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("fake GitHub: Content-Type %q, want application/json", ct)
		return f.answer(w, http.StatusUnsupportedMediaType, `{"message":"Unsupported Media Type"}`)
	}
	var body struct {
		State       *string `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     *string `json:"context"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Errorf("fake GitHub: body: %v", err)
		return f.answer(w, http.StatusBadRequest, `{"message":"Problems parsing JSON"}`)
	}
	req.State, req.Context = deref(body.State), deref(body.Context)
	req.Description, req.Target = deref(body.Description), deref(body.TargetURL)

	if len(f.faults) > 0 {
		fault := f.faults[0]
		f.faults = f.faults[1:]
		rec := httptest.NewRecorder()
		fault(rec)
		for k, v := range rec.Header() {
			h[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return rec.Code
	}

	if !f.repos[strings.ToLower(req.Owner+"/"+req.Repo)] {
		return f.answer(w, http.StatusNotFound, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/commits/statuses#create-a-commit-status"}`)
	}
	known := f.shas[strings.ToLower(req.SHA)]
	if f.shas == nil {
		known = fullSHA.MatchString(req.SHA)
	}
	if !known {
		return f.answer(w, http.StatusUnprocessableEntity, fmt.Sprintf(`{"message":"No commit found for SHA: %s","documentation_url":"https://docs.github.com/rest/commits/statuses#create-a-commit-status"}`, req.SHA))
	}
	switch req.State {
	case "pending", "success", "failure", "error":
	default:
		t.Errorf("fake GitHub: state %q", req.State)
		return f.answerValidation(w, "state", "state is not included in the list")
	}
	if n := utf8.RuneCountInString(req.Description); n > 140 {
		t.Errorf("fake GitHub: description of %d characters", n)
		return f.answerValidation(w, "description", "description is too long (maximum is 140 characters)")
	}
	ctx := req.Context
	if body.Context == nil {
		ctx = "default"
	}
	key := strings.ToLower(req.Owner+"/"+req.Repo+"@"+req.SHA) + " " + ctx
	if f.counts[key] >= 1000 {
		t.Errorf("fake GitHub: status #%d for %s", f.counts[key]+1, key)
		return f.answer(w, http.StatusUnprocessableEntity, `{"message":"Validation Failed","errors":[{"resource":"Status","code":"custom","message":"This SHA and context has reached the maximum number of statuses."}]}`)
	}
	f.counts[key]++
	created, _ := json.Marshal(map[string]any{
		"id": f.used, "state": req.State, "description": req.Description, "target_url": req.Target,
		"context": ctx, "created_at": req.At.UTC().Format(time.RFC3339),
	})
	h.Set("Location", fmt.Sprintf("%s/repos/%s/%s/statuses/%s", f.srv.URL+f.prefix, req.Owner, req.Repo, req.SHA))
	return f.answer(w, http.StatusCreated, string(created))
}

func (f *fakeGitHub) answerValidation(w http.ResponseWriter, field, msg string) int {
	b, _ := json.Marshal(map[string]any{"message": "Validation Failed",
		"errors": []map[string]string{{"resource": "Status", "field": field, "code": "custom", "message": msg}}})
	return f.answer(w, http.StatusUnprocessableEntity, string(b))
}

func (f *fakeGitHub) answer(w http.ResponseWriter, code int, body string) int {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.Copy(w, bytes.NewBufferString(body))
	return code
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Answers GitHub gives when it throttles or fails.

func primaryLimit(reset time.Time) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"}`)
	}
}

func secondaryLimit(retryAfter string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`)
	}
}

func plainAnswer(code int, header, value, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if header != "" {
			w.Header().Set(header, value)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}
