package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Server serves the web status. It is an http.Handler; it is also a
// status.Reporter, so a host adds it to its Hub and views that update live
// get the events. Safe for concurrent use.
type Server struct {
	opts     Options
	handler  http.Handler
	pages    map[string]*template.Template // by template file name
	public   *os.Root                      // Options.PublicHTML, nil without
	static   fs.FS                         // PublicHTML over the embedded files
	sessions *sessions
	httpLog  *rotatingLog
	csrf     *http.CrossOriginProtection
	now      func() time.Time
	version  string
	nav      []navLink    // the navigation bar, from the page table
	views    *viewState   // waterfall, console, images, live updates
	paths    status.Links // links of the pages, below Options.Prefix
	inherit  func(*slog.Logger)

	// unsupported holds the actions Control answered status.ErrUnsupported
	// to (Action → true): their forms are no longer offered.
	unsupported sync.Map

	mu      sync.Mutex
	servers []*http.Server
	closed  bool
}

var (
	_ http.Handler    = (*Server)(nil)
	_ status.Reporter = (*Server)(nil)
	_ status.Closer   = (*Server)(nil)
	_ status.Logging  = (*Server)(nil)
)

// New checks o and returns a Server.
func New(o Options) (*Server, error) {
	log, inherit := hublog.New(o.Logger)
	o.Logger = log
	if err := o.validate(); err != nil {
		return nil, err
	}
	s := &Server{opts: o, inherit: inherit, now: time.Now, csrf: http.NewCrossOriginProtection(), version: version()}
	s.views = newViewState(&s.opts)
	s.paths = status.Links{Base: o.Prefix}
	var err error
	if s.sessions, err = newSessions(&s.opts.Authz); err != nil {
		return nil, err
	}
	if s.pages, err = s.parseTemplates(); err != nil {
		return nil, err
	}
	if o.PublicHTML != "" {
		if s.public, err = os.OpenRoot(o.PublicHTML); err != nil {
			return nil, fmt.Errorf("web: Options.PublicHTML: %w: give an existing directory, or leave it empty", err)
		}
	}
	s.static = s.staticFS()
	for _, p := range s.pageTable() {
		if p.nav != "" {
			s.nav = append(s.nav, navLink{p.nav, p.pattern})
		}
	}
	if o.HTTPLog != nil {
		if s.httpLog, err = openRotatingLog(o.HTTPLog, o.Logger); err != nil {
			return nil, err
		}
	}
	s.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusForbidden, "Cross-site request refused: submit the form from this site's own pages.")
	}))
	s.handler = s.routes()
	return s, nil
}

type ctxKey int

const userKey ctxKey = iota

// user returns the request's user, "" when anonymous.
func user(r *http.Request) string {
	u, _ := r.Context().Value(userKey).(string)
	return u
}

// ServeHTTP serves a request; with Options.Prefix set, only paths under it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	if s.httpLog != nil {
		defer func() { s.httpLog.request(r, rec.status, rec.size, start, s.now()) }()
		w = rec
	}
	if p := s.opts.Prefix; p != "" {
		rest, ok := strings.CutPrefix(r.URL.Path, p)
		if !ok || rest != "" && rest[0] != '/' {
			http.NotFound(w, r)
			return
		}
		if rest == "" {
			http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
			return
		}
		r2 := *r
		u := *r.URL
		u.Path, u.RawPath = rest, strings.TrimPrefix(r.URL.RawPath, p) // keeps %2F in names
		r2.URL = &u
		r = &r2
	}
	r, ok := s.identify(w, r)
	if !ok {
		return
	}
	s.handler.ServeHTTP(w, r)
}

// recorder remembers the status and size of a response for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	size   int64
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(p)
	r.size += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush on the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Report receives the host's events. The pages read History; the events
// go to the pages open in browsers, which update live (live.go).
func (s *Server) Report(ctx context.Context, e status.Event) error {
	return s.views.live.Report(ctx, e)
}

// InheritLogger implements status.Logging: without Options.Logger the
// server logs through l.
func (s *Server) InheritLogger(l *slog.Logger) { s.inherit(l) }

// Name names the server in Hub statistics.
func (s *Server) Name() string { return "web" }

// ListenAndServe serves on a TCP address ("127.0.0.1:8010", ":8010") until
// Close. It returns http.ErrServerClosed after Close.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// ListenAndServeTLS serves HTTPS on addr with a certificate and key file;
// session cookies are then marked Secure.
func (s *Server) ListenAndServeTLS(addr, certFile, keyFile string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv, err := s.newHTTPServer()
	if err != nil {
		ln.Close()
		return err
	}
	return srv.ServeTLS(ln, certFile, keyFile)
}

// ServeUnix serves on a UNIX socket at path (Buildbot's distrib_port
// "unix:/path"), removing a stale socket file first.
func (s *Server) ServeUnix(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSocket != 0 {
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve serves on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	srv, err := s.newHTTPServer()
	if err != nil {
		ln.Close()
		return err
	}
	return srv.Serve(ln)
}

func (s *Server) newHTTPServer() (*http.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, http.ErrServerClosed
	}
	srv := &http.Server{Handler: s}
	s.opts.Timeouts.Apply(srv)
	s.servers = append(s.servers, srv)
	return srv, nil
}

// Close shuts down the listeners the Server started (waiting for requests in
// flight until ctx ends) and closes the request log. Idempotent.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	servers := s.servers
	s.servers, s.closed = nil, true
	s.mu.Unlock()
	// Live streams first: http.Server.Shutdown waits for them otherwise.
	err := s.views.live.Close(ctx)
	for _, srv := range servers {
		err = errors.Join(err, srv.Shutdown(ctx))
	}
	if s.httpLog != nil {
		err = errors.Join(err, s.httpLog.Close())
	}
	if s.public != nil {
		s.public.Close() // idempotent; files being served stay open until done
	}
	return err
}
