// Package stashtest is an in-process double of Bitbucket Server's (and
// Data Center's) REST API for the parts Herald's stash target uses: build
// statuses on commits and pull-request comments. It checks each request as
// Bitbucket does (method, path under the server's context path, HTTP Basic
// or Bearer token, media type, required fields, length limits, rate
// limits) and answers with Bitbucket's status codes and its
// {"errors":[...]} bodies.
//
//	bb := stashtest.NewServer(t, stashtest.Options{Token: "t"})
//	r, _ := stash.New(stash.Options{BaseURL: bb.URL(), Token: "t"})
//	... publish builds ...
//	st := bb.Status(sha, "linux")
//
// Requests a correct client never sends (an unknown field, a key over the
// limit, a missing field) are answered as Bitbucket would and listed by
// Problems; NewServer fails the test with them.
package stashtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/heraldci/herald/internal/forge/double"
)

// Options configures a double.
type Options struct {
	// ContextPath is the path the server lives under, such as
	// "/bitbucket"; "" for the root.
	ContextPath string
	// Username and Password are the HTTP Basic credentials accepted.
	Username, Password string
	// Token is the personal access token accepted as Bearer.
	// With neither Token nor Username set, any credentials are accepted,
	// but some are required.
	Token string
	// RateLimit is how many requests may be made per RateWindow before
	// Bitbucket answers 429 with Retry-After. 0: no limit.
	RateLimit int
	// RateWindow is the rate-limit window. Default a minute.
	RateWindow time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Request is one request as the double saw it.
type Request struct {
	At           time.Time
	Method, Path string
	Endpoint     string // "build-status", "comment", or "" when unknown
	SHA          string // the commit of a build status
	// The fields of a build status.
	State, Key, Name, URL, Description string
	// The pull request of a comment: project, repository, id; and its text.
	Project, Repo string
	PullRequest   int
	Text          string
	Body          json.RawMessage // the JSON body as sent
	Code          int             // the status code answered
}

// BuildStatus is a build status as Bitbucket keeps it: the last one posted
// per commit and key.
type BuildStatus struct {
	State, Key, Name, URL, Description string
	DateAdded                          time.Time
}

// Comment is a pull-request comment as Bitbucket keeps it.
type Comment struct {
	ID            int
	Project, Repo string
	PullRequest   int
	Text          string
}

// Limits Bitbucket Server puts on build statuses.
const (
	MaxKey         = 255
	MaxName        = 255
	MaxURL         = 450
	MaxDescription = 255
)

// Server is the double. It is an http.Handler; NewServer also serves it on
// a loopback port. Safe for concurrent use.
type Server struct {
	opts Options
	double.Server[Request]

	mu       sync.Mutex
	statuses map[string]BuildStatus // "sha key" (sha lower case)
	comments []Comment
}

// New returns a double serving o.
func New(o Options) *Server {
	o.ContextPath = strings.TrimSuffix(o.ContextPath, "/")
	if o.ContextPath != "" && !strings.HasPrefix(o.ContextPath, "/") {
		o.ContextPath = "/" + o.ContextPath
	}
	if o.RateWindow <= 0 {
		o.RateWindow = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{opts: o, statuses: map[string]BuildStatus{}}
	s.Rate = double.Rate{Limit: o.RateLimit, Window: o.RateWindow, Now: o.Now}
	return s
}

// NewServer starts a double on a loopback port for the length of the test,
// and at its end fails the test with every Problem seen.
func NewServer(tb testing.TB, o Options) *Server {
	tb.Helper()
	s := New(o)
	s.Start(tb, "stashtest", s)
	return s
}

// URL is the base URL for stash.Options.BaseURL, with the context path
// (NewServer only).
func (s *Server) URL() string { return s.Root() + s.opts.ContextPath }

// Fail queues answers for the next valid requests (after credentials and
// body are checked), in order.
func (s *Server) Fail(answers ...Answer) {
	for _, a := range answers {
		s.Log.Fail(func(w http.ResponseWriter) { a(w) })
	}
}

// Status returns the build status Bitbucket shows for a commit and key, and
// whether there is one.
func (s *Server) Status(sha, key string) (BuildStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.statuses[strings.ToLower(sha)+" "+key]
	return st, ok
}

// Comments returns the pull-request comments posted, oldest first.
func (s *Server) Comments() []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Comment(nil), s.comments...)
}

var (
	statusPath  = regexp.MustCompile(`^/rest/build-status/1\.0/commits/([^/]+)$`)
	commentPath = regexp.MustCompile(`^/rest/api/1\.0/projects/([^/]+)/repos/([^/]+)/pull-requests/([0-9]+)/comments$`)
	fullSHA     = regexp.MustCompile(`^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$`)
)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := Request{At: s.opts.Now(), Method: r.Method, Path: r.URL.Path}
	req.Code = s.handle(w, r, &req)
	s.Log.Add(req)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, req *Request) int {
	path, ok := strings.CutPrefix(r.URL.Path, s.opts.ContextPath)
	sm, cm := statusPath.FindStringSubmatch(path), commentPath.FindStringSubmatch(path)
	if !ok || sm == nil && cm == nil {
		return Error(w, http.StatusNotFound, "com.atlassian.bitbucket.rest.exception.NoSuchResourceException", "Resource not found")
	}
	if r.Method != http.MethodPost {
		return Error(w, http.StatusMethodNotAllowed, "", "Method "+r.Method+" is not allowed for this resource")
	}
	if !s.authorized(r.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Atlassian Bitbucket"`)
		return Error(w, http.StatusUnauthorized, "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException",
			"Authentication failed. Please check your credentials and try again.")
	}
	if code := s.throttle(w); code != 0 {
		return code
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.Log.Problem("%s: Content-Type %q", r.URL.Path, ct)
		return Error(w, http.StatusUnsupportedMediaType, "", "Unsupported Media Type")
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req.Body = body
	if sm != nil {
		req.Endpoint, req.SHA = "build-status", sm[1]
		return s.buildStatus(w, req)
	}
	req.Endpoint, req.Project, req.Repo = "comment", cm[1], cm[2]
	req.PullRequest, _ = strconv.Atoi(cm[3])
	return s.comment(w, req)
}

func (s *Server) authorized(h string) bool {
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return tok != "" && (s.opts.Token == "" && s.opts.Username == "" || tok == s.opts.Token)
	}
	if enc, ok := strings.CutPrefix(h, "Basic "); ok {
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return false
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if s.opts.Token == "" && s.opts.Username == "" {
			return ok && user != ""
		}
		return ok && s.opts.Username != "" && user == s.opts.Username && pass == s.opts.Password
	}
	return false
}

// throttle answers 429 with Retry-After once the window's requests are
// used up, as Bitbucket Data Center's rate limiting does.
func (s *Server) throttle(w http.ResponseWriter) int {
	over, now, reset := s.Rate.Take()
	if !over {
		return 0
	}
	return RateLimited(double.Seconds(reset.Sub(now)))(w)
}

// strictDecode decodes a JSON object into fields, noting unknown fields
// and wrong types as problems. It returns false when the body is no JSON
// object.
func (s *Server) strictDecode(body []byte, fields map[string]*string) bool {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		s.Log.Problem("body %q: %v", body, err)
		return false
	}
	for k, v := range m {
		dst, known := fields[k]
		if !known {
			s.Log.Problem("unknown field %q", k)
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			s.Log.Problem("field %q is not a string: %s", k, v)
		}
	}
	return true
}

func (s *Server) buildStatus(w http.ResponseWriter, req *Request) int {
	fields := map[string]*string{"state": &req.State, "key": &req.Key, "name": &req.Name, "url": &req.URL, "description": &req.Description}
	if !s.strictDecode(req.Body, fields) {
		return Error(w, http.StatusBadRequest, "", "Unexpected end of content")
	}
	if code := s.Log.Fault(w); code != 0 {
		return code
	}
	for _, k := range []string{"state", "key", "url"} {
		if *fields[k] == "" {
			s.Log.Problem("required field %q missing", k)
			return Validation(w, k, fmt.Sprintf("The %s field is required.", k))
		}
	}
	switch req.State {
	case "INPROGRESS", "SUCCESSFUL", "FAILED":
	default:
		s.Log.Problem("state %q", req.State)
		return Validation(w, "state", "state must be one of INPROGRESS, SUCCESSFUL, FAILED")
	}
	for _, l := range []struct {
		field, v string
		max      int
	}{{"key", req.Key, MaxKey}, {"name", req.Name, MaxName}, {"url", req.URL, MaxURL}, {"description", req.Description, MaxDescription}} {
		if n := utf8.RuneCountInString(l.v); n > l.max {
			s.Log.Problem("%s of %d characters", l.field, n)
			return Validation(w, l.field, fmt.Sprintf("The %s must be %d characters or less.", l.field, l.max))
		}
	}
	if !fullSHA.MatchString(req.SHA) {
		s.Log.Problem("build status on %q, not a full commit id", req.SHA)
	}
	s.mu.Lock()
	s.statuses[strings.ToLower(req.SHA)+" "+req.Key] = BuildStatus{State: req.State, Key: req.Key, Name: req.Name,
		URL: req.URL, Description: req.Description, DateAdded: req.At}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

func (s *Server) comment(w http.ResponseWriter, req *Request) int {
	if !s.strictDecode(req.Body, map[string]*string{"text": &req.Text}) {
		return Error(w, http.StatusBadRequest, "", "Unexpected end of content")
	}
	if code := s.Log.Fault(w); code != 0 {
		return code
	}
	if strings.TrimSpace(req.Text) == "" {
		s.Log.Problem("comment without text")
		return Validation(w, "text", "A comment must have text.")
	}
	s.mu.Lock()
	c := Comment{ID: len(s.comments) + 1, Project: req.Project, Repo: req.Repo, PullRequest: req.PullRequest, Text: req.Text}
	s.comments = append(s.comments, c)
	s.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"id": c.ID, "version": 0, "text": c.Text, "createdDate": req.At.UnixMilli()})
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(b)
	return http.StatusCreated
}
