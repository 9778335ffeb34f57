package stash

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBitbucket is a double of Bitbucket Server's build-status API at the
// wire: POST <context>/rest/build-status/1.0/commits/<sha>, HTTP Basic or
// Bearer, a JSON body with state, key and url required; 204 on success,
// Bitbucket's {"errors":[...]} otherwise. It keeps the statuses per commit
// and key as Bitbucket does (the last one wins) and fails the test on
// requests the reporter should never send.
type fakeBitbucket struct {
	t       testing.TB
	srv     *httptest.Server
	context string // the server's context path, "" or "/bitbucket"
	user    string
	pass    string
	token   string

	mu       sync.Mutex
	faults   []func(http.ResponseWriter)
	log      []fakeRequest
	statuses map[string]fakeRequest // "sha key" → the last status
	notify   chan struct{}
}

type fakeRequest struct {
	At                                time.Time
	SHA, State, Key, Name, URL, Descr string
	Code                              int
}

func (r fakeRequest) String() string {
	return fmt.Sprintf("POST %s state=%s key=%q name=%q url=%q description=%q -> %d",
		r.SHA, r.State, r.Key, r.Name, r.URL, r.Descr, r.Code)
}

var buildStatusPath = regexp.MustCompile(`^/rest/build-status/1\.0/commits/([0-9a-fA-F]{7,64})$`)

func newFakeBitbucket(t testing.TB, context string) *fakeBitbucket {
	f := &fakeBitbucket{t: t, context: context, user: "ci", pass: "s3cret-pass", token: "BBDC-test-token",
		statuses: map[string]fakeRequest{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBitbucket) URL() string { return f.srv.URL + f.context }

func (f *fakeBitbucket) fail(answers ...func(http.ResponseWriter)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, answers...)
}

func (f *fakeBitbucket) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.log...)
}

// current returns the status Bitbucket shows for sha and key.
func (f *fakeBitbucket) current(sha, key string) fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statuses[sha+" "+key]
}

func (f *fakeBitbucket) wait(n int, timeout time.Duration) []fakeRequest {
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
			f.t.Fatalf("fake Bitbucket: %d of %d requests after %v", got, n, timeout)
		}
	}
}

func (f *fakeBitbucket) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := fakeRequest{At: time.Now()}
	req.Code = f.handle(w, r, &req)
	f.log = append(f.log, req)
	if f.notify != nil {
		close(f.notify)
		f.notify = nil
	}
}

func (f *fakeBitbucket) handle(w http.ResponseWriter, r *http.Request, req *fakeRequest) int {
	t := f.t
	path, ok := strings.CutPrefix(r.URL.Path, f.context)
	m := buildStatusPath.FindStringSubmatch(path)
	if !ok || m == nil {
		t.Errorf("fake Bitbucket: %s %s: no such resource", r.Method, r.URL.Path)
		return bbError(w, http.StatusNotFound, "com.atlassian.bitbucket.NoSuchResourceException", "Resource not found")
	}
	if r.Method != http.MethodPost {
		t.Errorf("fake Bitbucket: method %s", r.Method)
		return bbError(w, http.StatusMethodNotAllowed, "", "Method not allowed")
	}
	req.SHA = m[1]
	if !f.authorized(r.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Atlassian Bitbucket"`)
		return bbError(w, http.StatusUnauthorized, "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException",
			"Authentication failed. Please check your credentials and try again.")
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("fake Bitbucket: Content-Type %q", ct)
		return bbError(w, http.StatusUnsupportedMediaType, "", "Unsupported media type")
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		t.Errorf("fake Bitbucket: body: %v", err)
		return bbError(w, http.StatusBadRequest, "", "Unexpected end of content")
	}
	fields := map[string]*string{"state": &req.State, "key": &req.Key, "name": &req.Name, "url": &req.URL, "description": &req.Descr}
	for k, v := range body {
		dst, known := fields[k]
		if !known {
			t.Errorf("fake Bitbucket: unknown field %q", k)
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			t.Errorf("fake Bitbucket: field %q is not a string: %s", k, v)
		}
	}
	for _, k := range []string{"state", "key", "url"} {
		if *fields[k] == "" {
			t.Errorf("fake Bitbucket: required field %q missing", k)
			return bbError(w, http.StatusBadRequest, "com.atlassian.bitbucket.validation.ArgumentValidationException",
				fmt.Sprintf("The %s field is required.", k))
		}
	}
	switch req.State {
	case "INPROGRESS", "SUCCESSFUL", "FAILED":
	default:
		t.Errorf("fake Bitbucket: state %q", req.State)
		return bbError(w, http.StatusBadRequest, "", "Invalid state")
	}
	if len(req.Key) > 40 {
		t.Errorf("fake Bitbucket: key of %d bytes: %q", len(req.Key), req.Key)
	}
	if len(f.faults) > 0 {
		fault := f.faults[0]
		f.faults = f.faults[1:]
		rec := httptest.NewRecorder()
		fault(rec)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return rec.Code
	}
	f.statuses[req.SHA+" "+req.Key] = *req
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

func (f *fakeBitbucket) authorized(h string) bool {
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return tok == f.token
	}
	if enc, ok := strings.CutPrefix(h, "Basic "); ok {
		raw, err := base64.StdEncoding.DecodeString(enc)
		return err == nil && string(raw) == f.user+":"+f.pass
	}
	return false
}

func bbError(w http.ResponseWriter, code int, exception, msg string) int {
	b, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"context": nil, "message": msg, "exceptionName": exception}}})
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
	return code
}

func answer(code int, header, value, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if header != "" {
			w.Header().Set(header, value)
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}
