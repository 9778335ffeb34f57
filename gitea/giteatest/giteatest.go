// Package giteatest is an in-process double of the REST API of Gitea and
// Forgejo for the part Herald's gitea target uses: commit statuses. It
// checks each request as Gitea does (method, path under the instance's
// sub-path, the token as "token …", "Bearer …" or HTTP Basic, JSON body,
// state names) and answers with Gitea's status codes and its
// {"message", "url"} error bodies. Gitea itself has no rate limit; with
// Options.RateLimit the double answers 429 with Retry-After, as a proxy
// in front of it does.
//
//	api := giteatest.NewServer(t, giteatest.Options{Token: "t"})
//	r, _ := gitea.New(gitea.Options{BaseURL: api.URL(), Token: "t"})
//	... publish builds ...
//	st := api.Statuses("owner/repo", sha)
//
// Requests a correct client never sends (an unknown field, an unknown
// state) are answered as Gitea would and listed by Problems; NewServer
// fails the test with them.
package giteatest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/forge/double"
)

// Options configures a double.
type Options struct {
	// Token is the one token accepted ("token T", "Bearer T", or as the
	// password of HTTP Basic). Empty: any token is accepted, but one is
	// required.
	Token string
	// Repos are the repositories that exist, "owner/name" (any case).
	// Empty: every repository exists.
	Repos []string
	// RateLimit is how many requests may be made per RateWindow before the
	// double answers 429. 0: no limit.
	RateLimit int
	// RateWindow is the rate-limit window. Default a minute.
	RateWindow time.Duration
	// Prefix is the sub-path the instance is served under, such as "/git".
	Prefix string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Request is one request as the double saw it.
type Request struct {
	At           time.Time
	Method, Path string
	Repo, SHA    string // "owner/name" and the commit of a status
	// The fields of a commit status.
	State, Context, TargetURL, Description string
	Body                                   json.RawMessage // the JSON body as sent
	Code                                   int             // the status code answered
}

// Status is a commit status as Gitea keeps it: every one posted.
type Status struct {
	ID                                     int64
	State, Context, TargetURL, Description string
	CreatedAt                              time.Time
}

// Server is the double. It is an http.Handler; NewServer also serves it on
// a loopback port. Safe for concurrent use.
type Server struct {
	opts Options
	double.Server[Request]
	repos map[string]bool

	mu       sync.Mutex
	statuses map[string][]Status // "owner/name@sha" (lower case) → oldest first
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
	s := &Server{opts: o, repos: map[string]bool{}, statuses: map[string][]Status{}}
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
	s.Start(tb, "giteatest", s)
	return s
}

// URL is the instance's address for gitea.Options.BaseURL, with Prefix
// (NewServer only).
func (s *Server) URL() string { return s.Root() + s.opts.Prefix }

// Fail queues answers for the next valid requests (after the token and
// body are checked), in order.
func (s *Server) Fail(answers ...Answer) {
	for _, a := range answers {
		s.Log.Fail(func(w http.ResponseWriter) { a(w) })
	}
}

// Statuses returns the statuses of a commit, oldest first.
func (s *Server) Statuses(repo, sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Status(nil), s.statuses[strings.ToLower(repo+"@"+sha)]...)
}

var (
	statusPath = regexp.MustCompile(`^/api/v1/repos/([^/]+)/([^/]+)/statuses/([^/]+)$`)
	hexSHA     = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)
	states     = []string{"pending", "success", "error", "failure", "warning"}
)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := Request{At: s.opts.Now(), Method: r.Method, Path: r.URL.Path}
	req.Code = s.handle(w, r, &req)
	s.Log.Add(req)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, req *Request) int {
	path, ok := strings.CutPrefix(r.URL.Path, s.opts.Prefix)
	m := statusPath.FindStringSubmatch(path)
	if !ok || m == nil {
		return NotFound(w)
	}
	if r.Method != http.MethodPost {
		return Error(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
	if !s.authorized(r.Header.Get("Authorization")) {
		return Error(w, http.StatusUnauthorized, "token is required")
	}
	if code := s.throttle(w); code != 0 {
		return code
	}
	req.Repo, req.SHA = m[1]+"/"+m[2], m[3]
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.Log.Problem("%s: Content-Type %q", r.URL.Path, ct)
		return Error(w, http.StatusUnprocessableEntity, "Content-Type must be application/json")
	}
	var body struct {
		State       *string `json:"state"`
		Context     *string `json:"context"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req.Body = raw
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		s.Log.Problem("%s: body %s: %v", r.URL.Path, raw, err)
		return Error(w, http.StatusUnprocessableEntity, "[]: "+err.Error())
	}
	req.State, req.Context = deref(body.State), deref(body.Context)
	req.TargetURL, req.Description = deref(body.TargetURL), deref(body.Description)
	if code := s.Log.Fault(w); code != 0 {
		return code
	}
	if len(s.repos) > 0 && !s.repos[strings.ToLower(req.Repo)] || !hexSHA.MatchString(req.SHA) {
		return NotFound(w)
	}
	if !contains(states, req.State) {
		s.Log.Problem("state %q", req.State)
		return Error(w, http.StatusUnprocessableEntity, "invalid state: "+strconv.Quote(req.State))
	}
	s.mu.Lock()
	s.nextID++
	st := Status{ID: s.nextID, State: req.State, Context: req.Context, TargetURL: req.TargetURL,
		Description: req.Description, CreatedAt: req.At}
	key := strings.ToLower(req.Repo + "@" + req.SHA)
	s.statuses[key] = append(s.statuses[key], st)
	s.mu.Unlock()
	at := st.CreatedAt.UTC().Format(time.RFC3339)
	return writeJSON(w, http.StatusCreated, map[string]any{"id": st.ID, "status": st.State, "context": st.Context,
		"target_url": st.TargetURL, "description": st.Description, "url": s.Root() + r.URL.Path,
		"creator": map[string]any{"id": 1, "login": "ci"}, "created_at": at, "updated_at": at})
}

func (s *Server) authorized(h string) bool {
	scheme, cred, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "token", "bearer":
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		_, pass, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			return false
		}
		cred = pass
	default:
		return false
	}
	return cred != "" && (s.opts.Token == "" || cred == s.opts.Token)
}

// throttle answers 429 with Retry-After once the window's requests are
// used up.
func (s *Server) throttle(w http.ResponseWriter) int {
	over, now, reset := s.Rate.Take()
	if !over {
		return 0
	}
	return RateLimited(double.Seconds(reset.Sub(now)))(w)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
