// Package githubtest is an in-process double of GitHub's REST API for the
// parts Herald's github target uses: commit statuses, resolving an
// abbreviated commit, pull-request (issue) comments and check runs. It
// checks each request as GitHub does (method, path, token, User-Agent,
// media types, required fields, length limits, the 1000-statuses cap, 50
// annotations per check-run request, check runs written only with a GitHub
// App installation token (ghs_…), rate limits) and answers
// with GitHub's status codes, headers and error bodies, so a host can test
// its configuration of github.Reporter, or run a demo, without GitHub.
//
//	api := githubtest.NewServer(t, githubtest.Options{Token: "t", Repos: []string{"octo/hello"}})
//	r, _ := github.New(github.Options{Token: "t", BaseURL: api.URL()})
//	... publish builds ...
//	statuses := api.Statuses("octo", "hello", sha)
//
// Requests a correct client never sends (an unknown field, a description
// over GitHub's limit, a status past the cap) are answered as GitHub would
// and also listed by Problems; NewServer fails the test with them.
package githubtest

import (
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
	// Token is the one token accepted, as "Bearer T" or "token T". Empty:
	// any token is accepted, but one is required.
	Token string
	// Repos are the repositories that exist, "owner/name" (any case).
	// Empty: every repository exists.
	Repos []string
	// Commits are the commits that exist, full SHAs. Empty: every full SHA
	// exists, and no abbreviated one resolves.
	Commits []string
	// RateLimit is how many requests the token may make per RateWindow
	// before GitHub's primary limit answers 403. Default 5000.
	RateLimit int
	// RateWindow is the rate-limit window. Default an hour.
	RateWindow time.Duration
	// Prefix is the path the API lives under: "/api/v3" (the default), as
	// GitHub Enterprise Server serves it and go-github expects for any host
	// but api.github.com.
	Prefix string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Request is one request as the double saw it.
type Request struct {
	At           time.Time
	Method, Path string
	Endpoint     string // "status", "commit", "comment", "check-run", or "" when unknown
	Owner, Repo  string
	SHA          string // the commit of a status or check run, the ref of a commit lookup
	// The fields of a commit status; of a check run, State is its
	// conclusion once completed, else its status, and Context its name.
	State, Context, Description, TargetURL string
	CheckRun                               int64           // the check run created or updated
	Body                                   json.RawMessage // the JSON body as sent
	Code                                   int             // the status code answered
}

// Status is a commit status as GitHub keeps it.
type Status struct {
	ID                                     int64
	State, Context, Description, TargetURL string
	CreatedAt                              time.Time
}

// Server is the double. It is an http.Handler; NewServer also serves it on
// a loopback port. Safe for concurrent use.
type Server struct {
	opts Options
	double.Server[Request]
	repos map[string]bool
	shas  map[string]bool

	mu        sync.Mutex
	statuses  map[string][]Status // "owner/name@sha" (lower case) → newest last
	comments  []Comment
	checkRuns []*CheckRun
	nextID    int64
	used      int
	reset     time.Time
	extra     []route
}

// A route serves more of the API (comments).
type route struct {
	method string
	path   *regexp.Regexp
	serve  func(s *Server, w http.ResponseWriter, r *http.Request, req *Request, m []string) int
}

// New returns a double serving o.
func New(o Options) *Server {
	if o.RateLimit <= 0 {
		o.RateLimit = 5000
	}
	if o.RateWindow <= 0 {
		o.RateWindow = time.Hour
	}
	if o.Prefix == "" {
		o.Prefix = "/api/v3"
	}
	o.Prefix = "/" + strings.Trim(o.Prefix, "/")
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{opts: o, repos: map[string]bool{}, shas: map[string]bool{}, statuses: map[string][]Status{}}
	for _, r := range o.Repos {
		s.repos[strings.ToLower(r)] = true
	}
	for _, c := range o.Commits {
		s.shas[strings.ToLower(c)] = true
	}
	s.extra = append(extraRoutes(), checkRoutes()...)
	return s
}

// NewServer starts a double on a loopback port for the length of the test,
// and at its end fails the test with every Problem seen.
func NewServer(tb testing.TB, o Options) *Server {
	tb.Helper()
	s := New(o)
	s.Start(tb, "githubtest", s)
	return s
}

// ServerURL is the server's root, http://127.0.0.1:PORT (NewServer only).
func (s *Server) ServerURL() string { return s.Root() }

// URL is the base URL for github.Options.BaseURL (NewServer only).
func (s *Server) URL() string { return s.Root() + s.opts.Prefix + "/" }

// Fail queues answers for the next valid requests (after the token and
// body are checked), in order: a way to make GitHub fail, throttle or hang
// up at a chosen request.
func (s *Server) Fail(answers ...Answer) {
	for _, a := range answers {
		s.Log.Fail(func(w http.ResponseWriter) { a(w) })
	}
}

// Statuses returns the statuses of a commit, oldest first, as GitHub keeps
// them.
func (s *Server) Statuses(owner, repo, sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Status(nil), s.statuses[strings.ToLower(owner+"/"+repo+"@"+sha)]...)
}

var (
	statusPath = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/statuses/([^/]+)$`)
	commitPath = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/commits/([^/]+)$`)
	shaMedia   = regexp.MustCompile(`application/vnd\.github(\.v3)?\.sha`)
	hexSHA     = regexp.MustCompile(`^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$`)
)

// Limits of GitHub's commit statuses.
const (
	MaxDescription = 140  // characters
	MaxPerContext  = 1000 // statuses per commit and context
)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := Request{At: s.opts.Now(), Method: r.Method, Path: r.URL.Path}
	req.Code = s.handle(w, r, &req)
	s.Log.Add(req)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, req *Request) int {
	if code := s.rateHeaders(w); code != 0 {
		return code
	}
	path, ok := strings.CutPrefix(r.URL.Path, s.opts.Prefix)
	if !ok {
		return notFound(w)
	}
	if r.UserAgent() == "" {
		s.Log.Problem("%s %s without User-Agent", r.Method, r.URL.Path)
		return Error(w, http.StatusForbidden, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header")
	}
	switch auth := r.Header.Get("Authorization"); {
	case auth == "":
		return Error(w, http.StatusUnauthorized, "Requires authentication")
	case !s.tokenOK(auth):
		return Error(w, http.StatusUnauthorized, "Bad credentials")
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v != "" && v != "2022-11-28" {
		s.Log.Problem("X-GitHub-Api-Version %q", v)
		return Error(w, http.StatusBadRequest, fmt.Sprintf("API version '%s' is not supported.", v))
	}
	if m := statusPath.FindStringSubmatch(path); m != nil && r.Method == http.MethodPost {
		req.Endpoint, req.Owner, req.Repo, req.SHA = "status", m[1], m[2], m[3]
		return s.createStatus(w, r, req)
	}
	if m := commitPath.FindStringSubmatch(path); m != nil && r.Method == http.MethodGet {
		req.Endpoint, req.Owner, req.Repo, req.SHA = "commit", m[1], m[2], m[3]
		return s.getCommit(w, r, req)
	}
	for _, rt := range s.extra {
		if m := rt.path.FindStringSubmatch(path); m != nil && r.Method == rt.method {
			req.Owner, req.Repo = m[1], m[2]
			return rt.serve(s, w, r, req, m)
		}
	}
	return notFound(w)
}

func (s *Server) tokenOK(auth string) bool {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(auth, "token ")
	}
	if !ok || tok == "" {
		return false
	}
	return s.opts.Token == "" || tok == s.opts.Token
}

// rateHeaders sets GitHub's rate-limit headers and answers the primary
// limit once the window's requests are used up.
func (s *Server) rateHeaders(w http.ResponseWriter) int {
	s.mu.Lock()
	now := s.opts.Now()
	if s.reset.IsZero() || !now.Before(s.reset) {
		s.reset, s.used = now.Add(s.opts.RateWindow), 0
	}
	s.used++
	used, reset := s.used, s.reset
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(s.opts.RateLimit-used, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(min(used, s.opts.RateLimit)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	if used > s.opts.RateLimit {
		return PrimaryLimit(reset)(w)
	}
	return 0
}

func (s *Server) repoKnown(owner, repo string) bool {
	return len(s.repos) == 0 || s.repos[strings.ToLower(owner+"/"+repo)]
}

func (s *Server) commitKnown(sha string) bool {
	if len(s.shas) == 0 {
		return hexSHA.MatchString(sha)
	}
	return s.shas[strings.ToLower(sha)]
}

// decode reads a JSON body into v, refusing unknown fields (a Problem) as a
// strict client test wants, and keeps the body in req.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, req *Request, v any) (int, bool) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.Log.Problem("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
		return Error(w, http.StatusUnsupportedMediaType, "Unsupported Media Type"), false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return Error(w, http.StatusBadRequest, "Problems parsing JSON"), false
	}
	req.Body = body
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		s.Log.Problem("%s %s: body %s: %v", r.Method, r.URL.Path, body, err)
		return Error(w, http.StatusBadRequest, "Problems parsing JSON"), false
	}
	return 0, true
}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request, req *Request) int {
	var body struct {
		State       *string `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     *string `json:"context"`
	}
	if code, ok := s.decode(w, r, req, &body); !ok {
		return code
	}
	req.State, req.Context = deref(body.State), deref(body.Context)
	req.Description, req.TargetURL = deref(body.Description), deref(body.TargetURL)
	if code := s.Log.Fault(w); code != 0 {
		return code
	}
	if !s.repoKnown(req.Owner, req.Repo) {
		return notFoundDoc(w, "commits/statuses#create-a-commit-status")
	}
	if !hexSHA.MatchString(req.SHA) {
		s.Log.Problem("status on %q, not a full commit SHA", req.SHA)
	}
	if !s.commitKnown(req.SHA) {
		return Error(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+req.SHA)
	}
	switch req.State {
	case "pending", "success", "failure", "error":
	default:
		s.Log.Problem("state %q", req.State)
		return Validation(w, "Status", "state", "state is not included in the list")
	}
	if n := utf8.RuneCountInString(req.Description); n > MaxDescription {
		s.Log.Problem("description of %d characters", n)
		return Validation(w, "Status", "description", "description is too long (maximum is 140 characters)")
	}
	ctx := req.Context
	if body.Context == nil {
		ctx = "default"
	}
	key := strings.ToLower(req.Owner + "/" + req.Repo + "@" + req.SHA)
	s.mu.Lock()
	n := 0
	for _, st := range s.statuses[key] {
		if st.Context == ctx {
			n++
		}
	}
	if n >= MaxPerContext {
		s.mu.Unlock()
		s.Log.Problem("status #%d for %s context %q", n+1, key, ctx)
		return Answer(func(w http.ResponseWriter) int {
			return writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
				"errors": []map[string]string{{"resource": "Status", "code": "custom",
					"message": "This SHA and context has reached the maximum number of statuses."}}})
		})(w)
	}
	s.nextID++
	st := Status{ID: s.nextID, State: req.State, Context: ctx, Description: req.Description, TargetURL: req.TargetURL, CreatedAt: req.At.UTC()}
	s.statuses[key] = append(s.statuses[key], st)
	s.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("%s/repos/%s/%s/statuses/%s", s.Root()+s.opts.Prefix, req.Owner, req.Repo, req.SHA))
	return writeJSON(w, http.StatusCreated, map[string]any{"id": st.ID, "state": st.State, "description": st.Description,
		"target_url": st.TargetURL, "context": st.Context, "created_at": st.CreatedAt.Format(time.RFC3339)})
}

// getCommit resolves a ref (here: a full or abbreviated SHA) as
// GET /repos/{owner}/{repo}/commits/{ref} does; with the
// application/vnd.github.sha media type it answers the bare SHA.
func (s *Server) getCommit(w http.ResponseWriter, r *http.Request, req *Request) int {
	if code := s.Log.Fault(w); code != 0 {
		return code
	}
	if !s.repoKnown(req.Owner, req.Repo) {
		return notFoundDoc(w, "commits/commits#get-a-commit")
	}
	ref := strings.ToLower(req.SHA)
	var match []string
	for c := range s.shas {
		if strings.HasPrefix(c, ref) {
			match = append(match, c)
		}
	}
	if len(match) != 1 {
		return Error(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+req.SHA)
	}
	if shaMedia.MatchString(r.Header.Get("Accept")) {
		w.Header().Set("Content-Type", "application/vnd.github.sha; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, match[0])
		return http.StatusOK
	}
	return writeJSON(w, http.StatusOK, map[string]any{"sha": match[0]})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
