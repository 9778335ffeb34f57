package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

//go:embed templates/*.html
var builtinTemplates embed.FS

// sharedTemplates are parsed into every page: the layout and the partials
// (forms, result boxes) pages share.
var sharedTemplates = []string{"layout.html", "partials.html"}

// parseTemplates parses each page template with the shared ones, taking a
// file from Options.Templates instead of the built-in one when it has it.
func (s *Server) parseTemplates() (map[string]*template.Template, error) {
	read := func(name string) ([]byte, error) {
		if s.opts.Templates != nil {
			b, err := fs.ReadFile(s.opts.Templates, name)
			if err == nil {
				return b, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("web: Options.Templates: %w", err)
			}
		}
		return builtinTemplates.ReadFile("templates/" + name)
	}
	base := template.New("layout").Funcs(s.funcs())
	for _, name := range sharedTemplates {
		b, err := read(name)
		if err != nil {
			return nil, err
		}
		if _, err := base.New(name).Parse(string(b)); err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
	}
	entries, err := fs.ReadDir(builtinTemplates, "templates")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, e := range entries {
		name := e.Name()
		if isShared(name) {
			continue
		}
		b, err := read(name)
		if err != nil {
			return nil, err
		}
		t, err := template.Must(base.Clone()).New(name).Parse(string(b))
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

func isShared(name string) bool {
	for _, n := range sharedTemplates {
		if n == name {
			return true
		}
	}
	return false
}

// layoutData is the dot of every template: the page's own data in Page,
// and what the layout needs around it.
type layoutData struct {
	Title, ProjectTitle, ProjectURL string
	Root                            string // the prefix to put before absolute paths
	User                            string
	CanLogin                        bool   // a login form is available
	LoginURL                        string // the front end's login page
	Nav                             []navLink
	Flash                           string
	Page                            any
	Version                         string

	s *Server
	r *http.Request
}

type navLink struct{ Label, Path string }

// formArgs carries what an action form partial needs.
type formArgs struct {
	Here    string
	Builder *status.Builder
	Build   *status.Build
}

// Can reports whether the current user may perform act on subject (and the
// host can do it at all): templates show action forms only then.
func (d *layoutData) Can(act string, subject any) bool {
	return d.s.supports(Action(act)) && d.s.opts.Authz.allowed(Action(act), d.User, subject)
}

// Here returns the request's path and query below the prefix, for forms
// to come back to.
func (d *layoutData) Here() string { return d.r.URL.RequestURI() }

func (s *Server) layout(r *http.Request, title string, data any) *layoutData {
	d := &layoutData{
		Title: title, ProjectTitle: s.opts.Title, ProjectURL: s.opts.TitleURL,
		Root: s.opts.Prefix, User: user(r), Page: data, Version: s.version,
		CanLogin: s.opts.Authz.Auth != nil, LoginURL: s.opts.Authz.HTTPLoginURL,
		Nav: s.nav, s: s, r: r,
	}
	d.Flash = s.flash(r)
	return d
}

// render executes a page into a buffer first, so a template error becomes a
// 500 page rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, v *view) {
	t := s.pages[v.Template]
	if t == nil {
		s.renderError(w, r, http.StatusInternalServerError, "missing template "+v.Template)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, v.Template, s.layout(r, v.Title, v.Data)); err != nil {
		s.opts.Logger.Error("web: rendering page", "template", v.Template, "path", r.URL.Path, "err", err)
		if v.Template != "error.html" {
			s.renderError(w, r, http.StatusInternalServerError, "The page could not be rendered; the error is in the server log.")
		}
		return
	}
	if _, ok := s.flashCookie(r); ok {
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: s.cookiePath(), MaxAge: -1})
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// contentSecurityPolicy allows only this server's own files: no inline
// script or style, so an escaping mistake cannot run anything.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"

type errorData struct {
	Code    int
	Message string
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	s.render(w, r, code, &view{Template: "error.html", Title: http.StatusText(code), Data: errorData{code, msg}})
}

// pageError is an error with the status and message to show.
type pageError struct {
	code int
	msg  string
}

func (e *pageError) Error() string { return e.msg }

func notFound(format string, args ...any) error {
	return &pageError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

// renderErr shows err: a pageError as it says, status.ErrNotFound as 404,
// anything else as 500 with the details only in the log.
func (s *Server) renderErr(w http.ResponseWriter, r *http.Request, err error) {
	var pe *pageError
	switch {
	case errors.As(err, &pe):
		s.renderError(w, r, pe.code, pe.msg)
	case errors.Is(err, status.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "No such page: "+r.URL.Path)
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
	default:
		s.opts.Logger.Error("web: page", "path", r.URL.Path, "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "The history could not be read; the error is in the server log.")
	}
}

func (s *Server) cookiePath() string {
	if s.opts.Prefix == "" {
		return "/"
	}
	return s.opts.Prefix + "/"
}

// funcs are the template helpers; links are built here so every page
// escapes names in paths the same way.
func (s *Server) funcs() template.FuncMap {
	root := s.opts.Prefix
	l := s.paths
	return template.FuncMap{
		"url":        func(p string) string { return root + p },
		"builderURL": l.Builder,
		"buildURL":   func(b *status.Build) string { return l.Build(b.Builder, b.Number) },
		"stepURL":    func(b *status.Build, step string) string { return l.Step(b.Builder, b.Number, step) },
		"logURL":     l.Log,
		"changeURL":  l.Change,
		"workerURL":  l.Worker,
		"resultName": func(r status.Result) string { return r.String() },
		"buildClass": buildClass,
		"stepClass": func(st status.Step) string {
			if !st.Done() {
				return "running"
			}
			return st.Result.String()
		},
		"ts":         formatTime,
		"dur":        formatDuration,
		"join":       strings.Join,
		"safeURL":    safeURL,
		"stampLink":  s.stampLink,
		"changeLink": s.changeLink,
		"shortrev":   shortRev,
		"comments":   s.comments,
		"projectURL": func(p string) string { return lookupURL(s.opts.Projects, p) },
		"repoURL":    func(p string) string { return lookupURL(s.opts.Repositories, p) },
		"builderRef": func(b status.Builder) *status.Builder { return &b },
		"reqRef":     func(q status.BuildRequest) *status.BuildRequest { return &q },
		"workerRef":  func(w status.Worker) *status.Worker { return &w },
		"changeRef":  func(c status.Change) *status.Change { return &c },
		"property":   func(v any) string { return fmt.Sprint(v) },
		"contains":   strings.Contains,
		"builderOf":  func(b *status.Build) *status.Builder { return &status.Builder{Name: b.Builder, Tags: b.Tags} },
		"changeSource": func(c status.Change) status.SourceStamp {
			return status.SourceStamp{Revision: c.Revision, Repository: c.Repository, Changes: []status.Change{c}}
		},
		"forceArgs": func(d *layoutData, b *status.Builder) formArgs { return formArgs{Here: d.Here(), Builder: b} },
		"stopArgs":  func(d *layoutData, b *status.Build) formArgs { return formArgs{Here: d.Here(), Build: b} },
	}
}

// buildClass is the CSS class of a build's box: its result, or running.
func buildClass(b *status.Build) string {
	if b == nil {
		return "none"
	}
	if !b.Done() {
		return "running"
	}
	return b.Result.String()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func formatDuration(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return ""
	}
	return end.Sub(start).Round(time.Second).String()
}

func shortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func lookupURL(f URLFunc, name string) string {
	if f == nil || name == "" {
		return ""
	}
	return safeURL(f(name))
}

// revLink returns the link of a revision: Options.RevLink's, or "".
func (s *Server) revLink(rev, repo string) string {
	if s.opts.RevLink == nil || rev == "" {
		return ""
	}
	return safeURL(s.opts.RevLink(rev, repo))
}

// changeLink links a change's revision: Options.RevLink's link when it
// has one, else the link the change came with (Change.RevLink).
func (s *Server) changeLink(c status.Change) string {
	if l := s.revLink(c.Revision, c.Repository); l != "" {
		return l
	}
	return safeURL(c.RevLink)
}

// stampLink links the revision of a source stamp: Options.RevLink's link
// when it has one, else the RevLink of the stamp's change at that revision.
func (s *Server) stampLink(rev, repo string, changes []status.Change) string {
	if l := s.revLink(rev, repo); l != "" {
		return l
	}
	for i := len(changes) - 1; i >= 0; i-- {
		if c := &changes[i]; c.Revision == rev && c.RevLink != "" {
			return safeURL(c.RevLink)
		}
	}
	return ""
}

func (s *Server) comments(c status.Change) template.HTML {
	if s.opts.ChangeCommentLink != nil {
		return s.opts.ChangeCommentLink(c.Comments, c.Project)
	}
	return template.HTML(template.HTMLEscapeString(c.Comments))
}

// version returns Herald's module version from the build info.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if bi.Main.Path == modulePath {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == modulePath {
			return d.Version
		}
	}
	return "(devel)"
}

const modulePath = "github.com/heraldci/herald"
