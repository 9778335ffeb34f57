// Package gitlabtest is an in-process double of GitLab's REST API (v4)
// for the parts Herald's gitlab target uses: commit statuses and merge
// request notes. It checks each request as GitLab does (method, path with
// the project's ID or URL-encoded path, PRIVATE-TOKEN or Bearer token,
// required fields, state names, length limits, the transitions a status
// may make, rate limits) and answers with GitLab's status codes, headers
// and error bodies.
//
//	api := gitlabtest.NewServer(t, gitlabtest.Options{Token: "t", Projects: []string{"group/app"}})
//	r, _ := gitlab.New(gitlab.Options{Token: "t", BaseURL: api.URL()})
//	... publish builds ...
//	st := api.Statuses("group/app", sha)
//
// Requests a correct client never sends (an unknown field, a description
// over the limit, an unknown state) are answered as GitLab would and listed
// by Problems; NewServer fails the test with them.
package gitlabtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	// Token is the one token accepted, as PRIVATE-TOKEN or Bearer. Empty:
	// any token is accepted, but one is required.
	Token string
	// Projects are the projects that exist, by path with namespace; the
	// first has ID 1, the next 2, and so on. Empty: every project exists
	// (a numeric ID too).
	Projects []string
	// RateLimit is how many requests may be made per RateWindow before
	// GitLab answers 429. 0: no limit.
	RateLimit int
	// RateWindow is the rate-limit window. Default a minute.
	RateWindow time.Duration
	// Prefix is the path the instance is served under, such as "/gitlab";
	// the API is at Prefix/api/v4.
	Prefix string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Request is one request as the double saw it.
type Request struct {
	At           time.Time
	Method, Path string          // Path as sent, still escaped
	Endpoint     string          // "status", "note", or "" when unknown
	Project      string          // the project as named in the path, unescaped
	SHA          string          // the commit of a status
	MergeRequest int64           // the IID of a note's merge request
	Body         json.RawMessage // the body as sent (JSON)
	// The fields of a commit status, and a note's body.
	State, Name, Ref, TargetURL, Description, Note string
	Code                                           int // the status code answered
}

// Status is a commit status as GitLab keeps it.
type Status struct {
	ID                                            int64
	SHA, Ref, State, Name, TargetURL, Description string
	CreatedAt                                     time.Time
}

// Note is a merge request note as GitLab keeps it.
type Note struct {
	ID           int64
	Project      string
	MergeRequest int64
	Body         string
}

// GitLab's limits on a commit status, in characters.
const (
	MaxName        = 255
	MaxDescription = 255
	MaxRef         = 255
	MaxTargetURL   = 255
)

// Server is the double. It is an http.Handler; NewServer also serves it on
// a loopback port. Safe for concurrent use.
type Server struct {
	opts Options
	double.Server[Request]
	projects map[string]string // lower-case path and "ID" → path

	mu       sync.Mutex
	statuses map[string][]Status // "path@sha" (lower case) → oldest first
	notes    []Note
	nextID   int64
}

// New returns a double serving o.
func New(o Options) *Server {
	if o.RateWindow <= 0 {
		o.RateWindow = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Prefix = strings.Trim(o.Prefix, "/"); o.Prefix != "" {
		o.Prefix = "/" + o.Prefix
	}
	s := &Server{opts: o, projects: map[string]string{}, statuses: map[string][]Status{}}
	s.Rate = double.Rate{Limit: o.RateLimit, Window: o.RateWindow, Now: o.Now}
	for i, p := range o.Projects {
		s.projects[strings.ToLower(p)] = p
		s.projects[strconv.Itoa(i+1)] = p
	}
	return s
}

// NewServer starts a double on a loopback port for the length of the test,
// and at its end fails the test with every Problem seen.
func NewServer(tb testing.TB, o Options) *Server {
	tb.Helper()
	s := New(o)
	s.Start(tb, "gitlabtest", s)
	return s
}

// URL is the instance's address for gitlab.Options.BaseURL, with Prefix
// (NewServer only).
func (s *Server) URL() string { return s.Root() + s.opts.Prefix }

// Fail queues answers for the next valid requests (after the token and
// body are checked), in order.
func (s *Server) Fail(answers ...Answer) {
	for _, a := range answers {
		s.Log.Fail(func(w http.ResponseWriter) { a(w) })
	}
}

// Statuses returns the statuses of a commit of a project (by path), oldest
// first.
func (s *Server) Statuses(project, sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Status(nil), s.statuses[strings.ToLower(project+"@"+sha)]...)
}

// Notes returns the merge request notes left, oldest first.
func (s *Server) Notes() []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Note(nil), s.notes...)
}

var (
	statusPath = regexp.MustCompile(`^/api/v4/projects/([^/]+)/statuses/([^/]+)$`)
	notePath   = regexp.MustCompile(`^/api/v4/projects/([^/]+)/merge_requests/([0-9]+)/notes$`)
	hexSHA     = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)
)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := Request{At: s.opts.Now(), Method: r.Method, Path: r.URL.EscapedPath()}
	req.Code = s.handle(w, r, &req)
	s.Log.Add(req)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, req *Request) int {
	// GitLab routes on the escaped path: a project path must come with
	// its slashes encoded (group%2Fapp).
	path, ok := strings.CutPrefix(req.Path, s.opts.Prefix)
	sm, nm := statusPath.FindStringSubmatch(path), notePath.FindStringSubmatch(path)
	if !ok || sm == nil && nm == nil {
		return Error(w, http.StatusNotFound, "404 Not Found")
	}
	if r.Method != http.MethodPost {
		return Error(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
	}
	if !s.authorized(r) {
		return Error(w, http.StatusUnauthorized, "401 Unauthorized")
	}
	if code := s.throttle(w); code != 0 {
		return code
	}
	m := sm
	if m == nil {
		m = nm
	}
	req.Project, _ = url.PathUnescape(m[1])
	project, known := s.project(req.Project)
	if sm != nil {
		req.Endpoint, req.SHA = "status", sm[2]
		fields := map[string]*string{"state": &req.State, "name": &req.Name, "context": &req.Name, "ref": &req.Ref,
			"target_url": &req.TargetURL, "description": &req.Description}
		if code, ok := s.decode(w, r, req, fields); !ok {
			return code
		}
		if code := s.Log.Fault(w); code != 0 {
			return code
		}
		if !known {
			return Error(w, http.StatusNotFound, "404 Project Not Found")
		}
		return s.setStatus(w, req, project)
	}
	req.Endpoint = "note"
	req.MergeRequest, _ = strconv.ParseInt(nm[2], 10, 64)
	if code, ok := s.decode(w, r, req, map[string]*string{"body": &req.Note}); !ok {
		return code
	}
	if code := s.Log.Fault(w); code != 0 {
		return code
	}
	if !known {
		return Error(w, http.StatusNotFound, "404 Project Not Found")
	}
	return s.createNote(w, req, project)
}

func (s *Server) authorized(r *http.Request) bool {
	tok := r.Header.Get("PRIVATE-TOKEN")
	if tok == "" {
		tok, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	return tok != "" && (s.opts.Token == "" || tok == s.opts.Token)
}

// project finds a project by ID or path.
func (s *Server) project(id string) (string, bool) {
	if len(s.opts.Projects) == 0 {
		return id, true
	}
	p, ok := s.projects[strings.ToLower(id)]
	return p, ok
}

// throttle answers 429 once the window's requests are used up, as
// GitLab's authenticated API limit does.
func (s *Server) throttle(w http.ResponseWriter) int {
	over, now, reset := s.Rate.Take()
	if !over {
		return 0
	}
	return RateLimited(s.opts.RateLimit, reset, now)(w)
}

// decode reads a JSON body (or a form, which GitLab takes too) into
// fields, noting unknown fields and wrong types as problems.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, req *Request, fields map[string]*string) (int, bool) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return Invalid(w, "invalid form body"), false
		}
		for k := range form {
			if dst, ok := fields[k]; ok {
				*dst = form.Get(k)
			} else {
				s.Log.Problem("unknown parameter %q", k)
			}
		}
		return 0, true
	}
	req.Body = body
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		s.Log.Problem("%s: body %q: %v", req.Path, body, err)
		return Error(w, http.StatusBadRequest, "400 Bad request - Invalid JSON"), false
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
	return 0, true
}

// transitions are the events GitLab's state machine fires to reach a
// state, and the states a status still running may move to.
var (
	event = map[string]string{"pending": "enqueue", "running": "run", "success": "success",
		"failed": "drop", "canceled": "cancel", "skipped": "skip"}
	from = map[string][]string{
		"pending": {"running", "success", "failed", "canceled", "skipped"},
		"running": {"success", "failed", "canceled"},
	}
)

func (s *Server) setStatus(w http.ResponseWriter, req *Request, project string) int {
	if req.State == "" {
		s.Log.Problem("status without state")
		return Invalid(w, "state is missing, state does not have a valid value")
	}
	if _, ok := event[req.State]; !ok {
		s.Log.Problem("state %q", req.State)
		return Invalid(w, "state does not have a valid value")
	}
	for _, l := range []struct {
		field, v string
		max      int
	}{{"name", req.Name, MaxName}, {"description", req.Description, MaxDescription}, {"ref", req.Ref, MaxRef}, {"target_url", req.TargetURL, MaxTargetURL}} {
		if n := utf8.RuneCountInString(l.v); n > l.max {
			s.Log.Problem("%s of %d characters", l.field, n)
			return FieldErrors(w, l.field, fmt.Sprintf("is too long (maximum is %d characters)", l.max))
		}
	}
	if !hexSHA.MatchString(req.SHA) {
		return Error(w, http.StatusNotFound, "404 Commit Not Found")
	}
	name := req.Name
	if name == "" {
		name = "default"
	}
	key := strings.ToLower(project + "@" + req.SHA)
	s.mu.Lock()
	defer s.mu.Unlock()
	// The last status of that name and ref, if it is still running,
	// moves to the new state; a finished one is followed by a new status.
	list := s.statuses[key]
	for i := len(list) - 1; i >= 0; i-- {
		st := &list[i]
		if st.Name != name || req.Ref != "" && st.Ref != req.Ref {
			continue
		}
		next, open := from[st.State]
		if !open {
			break
		}
		if !contains(next, req.State) {
			return CannotTransition(w, event[req.State], st.State)
		}
		st.State, st.Description, st.TargetURL = req.State, req.Description, req.TargetURL
		return s.statusJSON(w, http.StatusCreated, st)
	}
	s.nextID++
	st := Status{ID: s.nextID, SHA: req.SHA, Ref: req.Ref, State: req.State, Name: name, TargetURL: req.TargetURL,
		Description: req.Description, CreatedAt: req.At}
	s.statuses[key] = append(list, st)
	return s.statusJSON(w, http.StatusCreated, &st)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Server) statusJSON(w http.ResponseWriter, code int, st *Status) int {
	return writeJSON(w, code, map[string]any{"id": st.ID, "sha": st.SHA, "ref": st.Ref, "status": st.State,
		"name": st.Name, "target_url": st.TargetURL, "description": st.Description, "allow_failure": false,
		"created_at": st.CreatedAt.UTC().Format(time.RFC3339), "author": map[string]any{"id": 1, "username": "ci"}})
}

func (s *Server) createNote(w http.ResponseWriter, req *Request, project string) int {
	if strings.TrimSpace(req.Note) == "" {
		s.Log.Problem("note without body")
		return Error(w, http.StatusBadRequest, `400 Bad request - Note {:note=>["can't be blank"]}`)
	}
	if req.MergeRequest <= 0 {
		return Error(w, http.StatusNotFound, "404 Merge Request Not Found")
	}
	s.mu.Lock()
	s.nextID++
	n := Note{ID: s.nextID, Project: project, MergeRequest: req.MergeRequest, Body: req.Note}
	s.notes = append(s.notes, n)
	s.mu.Unlock()
	return writeJSON(w, http.StatusCreated, map[string]any{"id": n.ID, "body": n.Body, "noteable_type": "MergeRequest",
		"noteable_iid": n.MergeRequest, "system": false, "created_at": req.At.UTC().Format(time.RFC3339)})
}
