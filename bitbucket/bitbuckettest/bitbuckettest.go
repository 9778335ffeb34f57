// Package bitbuckettest is an in-process double of Bitbucket Cloud's REST
// API (2.0) for the part Herald's bitbucket target uses: commit build
// statuses. It checks each request as Bitbucket does (method, path, HTTP
// Basic with an app password or a Bearer access token, JSON body, required
// fields, the 40-character key, state names) and answers with Bitbucket's
// status codes and its {"type": "error", "error": {...}} bodies, including
// its rate limit (429 without Retry-After).
//
//	api := bitbuckettest.NewServer(t, bitbuckettest.Options{Token: "t"})
//	r, _ := bitbucket.New(bitbucket.Options{BaseURL: api.URL(), Token: "t"})
//	... publish builds ...
//	st, _ := api.Status("ws/repo", sha, "linux")
//
// Requests a correct client never sends (an unknown field, a key over the
// limit, a missing field) are answered as Bitbucket would and listed by
// Problems; NewServer fails the test with them.
package bitbuckettest

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
	// Username and Password are the HTTP Basic credentials accepted (a
	// user and an app password).
	Username, Password string
	// Token is the access token accepted as Bearer. With neither Token nor
	// Username set, any credentials are accepted, but some are required.
	Token string
	// Repos are the repositories that exist, "workspace/slug" (any case).
	// Empty: every repository exists.
	Repos []string
	// RateLimit is how many requests may be made per RateWindow before
	// Bitbucket answers 429. 0: no limit.
	RateLimit int
	// RateWindow is the rate-limit window. Default an hour.
	RateWindow time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Request is one request as the double saw it.
type Request struct {
	At           time.Time
	Method, Path string
	Repo, SHA    string // "workspace/slug" and the commit
	// The fields of a build status.
	State, Key, Name, URL, Description string
	Body                               json.RawMessage // the JSON body as sent
	Code                               int             // the status code answered
}

// BuildStatus is a build status as Bitbucket keeps it: the last one posted
// per commit and key.
type BuildStatus struct {
	State, Key, Name, URL, Description string
	UpdatedOn                          time.Time
}

// Limits of Bitbucket Cloud's build statuses, in characters.
const (
	MaxKey         = 40
	MaxName        = 255
	MaxDescription = 255
)

// Server is the double. It is an http.Handler; NewServer also serves it on
// a loopback port. Safe for concurrent use.
type Server struct {
	opts Options
	double.Server[Request]
	repos map[string]bool

	mu       sync.Mutex
	statuses map[string]BuildStatus // "ws/slug@sha key" (repository and sha lower case)
}

// New returns a double serving o.
func New(o Options) *Server {
	if o.RateWindow <= 0 {
		o.RateWindow = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{opts: o, repos: map[string]bool{}, statuses: map[string]BuildStatus{}}
	s.Rate = double.Rate{Limit: o.RateLimit, Window: o.RateWindow, Now: o.Now}
	for _, r := range o.Repos {
		s.repos[strings.ToLower(r)] = true
	}
	return s
}

// NewServer starts a double on a loopback port for the length of the test,
// and at its end fails the test with every Problem seen.
func NewServer(tb testing.TB, o Options) *Server {
	tb.Helper()
	s := New(o)
	s.Start(tb, "bitbuckettest", s)
	return s
}

// URL is the API's address for bitbucket.Options.BaseURL (NewServer only).
func (s *Server) URL() string { return s.Root() }

// Fail queues answers for the next valid requests (after credentials and
// body are checked), in order.
func (s *Server) Fail(answers ...Answer) {
	for _, a := range answers {
		s.Log.Fail(func(w http.ResponseWriter) { a(w) })
	}
}

// Status returns the build status Bitbucket shows for a commit and key,
// and whether there is one.
func (s *Server) Status(repo, sha, key string) (BuildStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.statuses[strings.ToLower(repo+"@"+sha)+" "+key]
	return st, ok
}

var (
	statusPath = regexp.MustCompile(`^/2\.0/repositories/([^/]+)/([^/]+)/commit/([^/]+)/statuses/build/?$`)
	hexSHA     = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)
)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := Request{At: s.opts.Now(), Method: r.Method, Path: r.URL.Path}
	req.Code = s.handle(w, r, &req)
	s.Log.Add(req)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, req *Request) int {
	m := statusPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return Error(w, http.StatusNotFound, "Resource not found")
	}
	if r.Method != http.MethodPost {
		return Error(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
	if !s.authorized(r.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Bitbucket.org HTTP"`)
		return Error(w, http.StatusUnauthorized, "Invalid credentials")
	}
	if code := s.throttle(w); code != 0 {
		return code
	}
	req.Repo, req.SHA = m[1]+"/"+m[2], m[3]
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.Log.Problem("%s: Content-Type %q", r.URL.Path, ct)
		return Error(w, http.StatusUnsupportedMediaType, "Unsupported Media Type")
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req.Body = raw
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		s.Log.Problem("body %q: %v", raw, err)
		return Error(w, http.StatusBadRequest, "Invalid JSON")
	}
	fields := map[string]*string{"state": &req.State, "key": &req.Key, "name": &req.Name, "url": &req.URL,
		"description": &req.Description, "refname": new(string)}
	for k, v := range body {
		dst, known := fields[k]
		if !known {
			s.Log.Problem("unknown field %q", k)
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			s.Log.Problem("field %q is not a string: %s", k, v)
		}
	}
	if code := s.Log.Fault(w); code != 0 {
		return code
	}
	if len(s.repos) > 0 && !s.repos[strings.ToLower(req.Repo)] {
		return Error(w, http.StatusNotFound, "Repository "+req.Repo+" not found")
	}
	if !hexSHA.MatchString(req.SHA) {
		return Error(w, http.StatusNotFound, "Commit not found")
	}
	return s.store(w, req)
}

func (s *Server) store(w http.ResponseWriter, req *Request) int {
	for _, k := range []string{"state", "key", "url"} {
		if map[string]string{"state": req.State, "key": req.Key, "url": req.URL}[k] == "" {
			s.Log.Problem("required field %q missing", k)
			return FieldError(w, k, "This field is required.")
		}
	}
	switch req.State {
	case "INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED":
	default:
		s.Log.Problem("state %q", req.State)
		return FieldError(w, "state", strconv.Quote(req.State)+" is not a valid choice.")
	}
	for _, l := range []struct {
		field, v string
		max      int
	}{{"key", req.Key, MaxKey}, {"name", req.Name, MaxName}, {"description", req.Description, MaxDescription}} {
		if n := utf8.RuneCountInString(l.v); n > l.max {
			s.Log.Problem("%s of %d characters", l.field, n)
			return FieldError(w, l.field, fmt.Sprintf("Ensure this value has at most %d characters (it has %d).", l.max, n))
		}
	}
	st := BuildStatus{State: req.State, Key: req.Key, Name: req.Name, URL: req.URL, Description: req.Description, UpdatedOn: req.At}
	s.mu.Lock()
	s.statuses[strings.ToLower(req.Repo+"@"+req.SHA)+" "+req.Key] = st
	s.mu.Unlock()
	at := req.At.UTC().Format(time.RFC3339)
	return writeJSON(w, http.StatusCreated, map[string]any{"type": "build", "key": st.Key, "state": st.State,
		"name": st.Name, "url": st.URL, "description": st.Description, "created_on": at, "updated_on": at})
}

func (s *Server) authorized(h string) bool {
	open := s.opts.Token == "" && s.opts.Username == ""
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return tok != "" && (open || tok == s.opts.Token)
	}
	if enc, ok := strings.CutPrefix(h, "Basic "); ok {
		raw, err := base64.StdEncoding.DecodeString(enc)
		user, pass, found := strings.Cut(string(raw), ":")
		if err != nil || !found || user == "" {
			return false
		}
		return open || s.opts.Username != "" && user == s.opts.Username && pass == s.opts.Password
	}
	return false
}

// throttle answers 429 once the window's requests are used up.
func (s *Server) throttle(w http.ResponseWriter) int {
	if over, _, _ := s.Rate.Take(); over {
		return RateLimited(s.opts.RateLimit)(w)
	}
	return 0
}

func itoa(n int) string { return strconv.Itoa(n) }
