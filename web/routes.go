package web

import (
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// page is one GET view: its handler returns what to render, and the
// shared layout wraps it.
type page struct {
	pattern string // ServeMux pattern without the method
	serve   func(r *http.Request) (*view, error)
	nav     string // label in the navigation bar, "" for none
	// static pages are cheap to serve and left out of robots.txt.
	static bool
}

// view is what a page handler renders: the template file and its data.
type view struct {
	Template string
	Title    string
	Data     any
}

// pageTable lists every page. A new view (issue 11: waterfall, grid,
// console, feeds...) adds its file and one line here; the navigation bar
// and robots.txt follow.
func (s *Server) pageTable() []page {
	return append(s.viewPages(), []page{
		{pattern: "/builders", serve: s.buildersPage, nav: "Builders"},
		{pattern: "/builders/{builder}", serve: s.builderPage},
		{pattern: "/builders/{builder}/builds/{number}", serve: s.buildPage},
		{pattern: "/builders/{builder}/builds/{number}/steps/{step}", serve: s.stepPage},
		{pattern: "/one_line_per_build", serve: s.oneLinePage, nav: "Recent builds"},
		{pattern: "/changes", serve: s.changesPage, nav: "Changes"},
		{pattern: "/changes/{id}", serve: s.changePage},
		{pattern: "/buildslaves", serve: s.workersPage, nav: "Workers"},
		{pattern: "/workers", serve: s.workersPage},
		{pattern: "/users/table", serve: s.usersTablePage},
		{pattern: "/users/table/{id}", serve: s.userPage},
		{pattern: "/about", serve: s.aboutPage, nav: "About", static: true},
		{pattern: "/login", serve: s.loginPage, static: true},
		{pattern: "/json/help", serve: s.jsonHelpPage},
	}...)
}

// action is one POST endpoint changing the master through Control.
type action struct {
	pattern string
	serve   func(w http.ResponseWriter, r *http.Request) (back, msg string, err error)
	// offers are the actions whose forms lead here: when Control answers
	// status.ErrUnsupported, they are no longer offered.
	offers []Action
}

func (s *Server) actionTable() []action {
	force := []Action{ForceBuild, ForceAllBuilds}
	stop := []Action{StopBuild, StopAllBuilds}
	cancel := []Action{CancelPendingBuild, CancelAllPendingBuilds}
	return []action{
		{"/builders/{builder}/force", s.forceAction, force},
		{"/builders/{builder}/ping", s.pingAction, []Action{PingBuilder}},
		{"/builders/{builder}/cancelbuild", s.cancelAction, cancel},
		{"/builders/{builder}/builds/{number}/stop", s.stopAction, stop},
		{"/builders/{builder}/builds/{number}/rebuild", s.rebuildAction, nil},
		{"/builders/_all/force", s.forceAllAction, force},
		{"/builders/_all/stop", s.stopAllAction, stop},
		{"/builders/_all/cancelbuild", s.cancelAllAction, cancel},
		{"/buildslaves/{worker}/shutdown", s.shutdownWorkerAction, []Action{GracefulShutdown}},
		{"/buildslaves/{worker}/pause", s.pauseWorkerAction, []Action{PauseSlave}},
		{"/changes/{id}/stop", s.stopChangeAction, []Action{StopChange}},
		{"/shutdown", s.shutdownAction, []Action{CleanShutdown}},
		{"/cancel_shutdown", s.cancelShutdownAction, nil},
	}
}

// routes builds the handler tree: pages, raw handlers (logs, JSON, static
// files), actions behind cross-origin protection, and mounted handlers.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, p := range s.pageTable() {
		mux.Handle("GET "+p.pattern, s.pageHandler(p))
	}
	mux.Handle("GET /{$}", s.rootHandler())
	mux.Handle("GET /builders/{$}", http.RedirectHandler("../builders", http.StatusMovedPermanently))
	mux.Handle("GET /builders/{builder}/builds/{number}/steps/{step}/logs/{log}", s.viewOnly(s.long(s.serveLogHTML)))
	mux.Handle("GET /builders/{builder}/builds/{number}/steps/{step}/logs/{log}/text", s.viewOnly(s.long(s.serveLogText)))
	mux.Handle("GET /json", s.viewOnly(s.serveJSON))
	mux.Handle("GET /json/{path...}", s.viewOnly(s.serveJSON))
	mux.HandleFunc("GET /users", s.usersRedirect)
	for _, h := range s.viewHandlers() {
		mux.Handle("GET "+h.pattern, s.viewOnly(h.serve))
	}
	mux.HandleFunc("GET /robots.txt", s.serveRobots)
	mux.HandleFunc("GET /", s.serveStatic)

	for _, a := range s.actionTable() {
		mux.Handle("POST "+a.pattern, s.csrf.Handler(s.actionHandler(a)))
		mux.HandleFunc("GET "+a.pattern, s.postOnly)
	}
	mux.Handle("POST /login", s.csrf.Handler(http.HandlerFunc(s.loginAction)))
	mux.Handle("POST /logout", s.csrf.Handler(http.HandlerFunc(s.logoutAction)))
	mux.HandleFunc("GET /logout", s.postOnly)

	// Mounted handlers take their whole subtree, whatever the method, ahead
	// of the pages: a ServeMux cannot mix "GET /" with method-less subtrees.
	mounts := map[string]http.Handler{}
	for path, h := range s.opts.Handlers {
		mounts[path] = h
	}
	if s.opts.ChangeHook != nil {
		// Webhooks come from other sites by design: no cross-origin check;
		// the hook authenticates its callers itself.
		mounts["/change_hook/"] = s.opts.ChangeHook
	}
	if len(mounts) == 0 {
		return mux
	}
	// Longest path first, so "/a/b/" wins over "/a/".
	paths := slices.SortedFunc(maps.Keys(mounts), func(a, b string) int { return len(b) - len(a) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, path := range paths {
			if r.URL.Path == path || strings.HasSuffix(path, "/") && strings.HasPrefix(r.URL.Path, path) {
				mounts[path].ServeHTTP(w, r)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// postOnly answers a GET (or HEAD) on an action's URL: the action exists,
// but only a form's POST performs it.
func (s *Server) postOnly(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	s.renderError(w, r, http.StatusMethodNotAllowed, "This address performs an action: use the form on the page, which sends a POST.")
}

// viewOnly guards a raw handler with the View rule.
func (s *Server) viewOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.opts.Authz.allowed(View, user(r), nil) {
			s.renderError(w, r, http.StatusForbidden, "You are not allowed to view this site: log in first.")
			return
		}
		h(w, r)
	})
}

func (s *Server) pageHandler(p page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.opts.Authz.allowed(View, user(r), nil) && p.pattern != "/login" {
			s.renderError(w, r, http.StatusForbidden, "You are not allowed to view this site: log in first.")
			return
		}
		v, err := p.serve(r)
		if err != nil {
			s.renderErr(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, v)
	})
}

// serveRobots disallows every dynamic page, so crawlers do not walk the
// whole history (Buildbot's default robots.txt). A PublicHTML robots.txt
// wins.
func (s *Server) serveRobots(w http.ResponseWriter, r *http.Request) {
	if s.publicHas("robots.txt") {
		s.serveStatic(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	b.WriteString("User-agent: *\n")
	seen := map[string]bool{}
	disallow := func(p string) {
		if !seen[p] {
			seen[p] = true
			b.WriteString("Disallow: " + s.opts.Prefix + p + "\n")
		}
	}
	for _, p := range s.pageTable() {
		if p.static {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(p.pattern, "/"), "/")
		disallow("/" + first)
	}
	disallow("/json")
	disallow("/events") // endless live streams
	disallow("/change_hook")
	w.Write([]byte(b.String()))
}

// rootHandler serves "/": PublicHTML's index.html when it has one, unless
// Templates overrides the welcome page (templates win over static files).
func (s *Server) rootHandler() http.Handler {
	welcome := s.pageHandler(page{pattern: "/", serve: s.welcomePage})
	if !s.publicHas("index.html") {
		return welcome
	}
	if s.opts.Templates != nil {
		if _, err := fs.Stat(s.opts.Templates, "root.html"); err == nil {
			return welcome
		}
	}
	return http.HandlerFunc(s.serveStatic)
}
