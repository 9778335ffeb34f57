package web

// This file is a temporary stand-in for the Server of issue 10 (server.go,
// options.go, render.go, query.go, routes.go on branch web), holding only
// what the views of issue 11 need, with the same names and shapes so that
// deleting this file is all it takes once that Server is merged. Nothing
// else in the package may depend on something only defined here.

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// Options configure a Server (stand-in: see the head of this file).
type Options struct {
	Title, TitleURL string
	BuildbotURL     string
	Prefix          string
	History         status.History
	NumBuilds       int
	Logger          *slog.Logger
	RevLink         func(revision, repository string) string

	// Display options of issue 11 (display.go documents them).
	NumEvents, NumEventsMax int
	OrderConsoleByTime      bool
	FeedResults             []status.Result
}

func (o *Options) validate() error {
	if o.History == nil {
		return errors.New("web: Options.History is nil: pass the host's status.History (store.Memory or your own)")
	}
	if o.NumBuilds == 0 {
		o.NumBuilds = 20
	}
	if o.Title == "" {
		o.Title = "Herald"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o.validateDisplay()
}

// Server serves the views (stand-in).
type Server struct {
	opts    Options
	handler http.Handler
	pages   map[string]*template.Template
	views   *viewState
	now     func() time.Time
}

var (
	_ http.Handler    = (*Server)(nil)
	_ status.Reporter = (*Server)(nil)
	_ status.Closer   = (*Server)(nil)
)

// New checks o and returns a Server.
func New(o Options) (*Server, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	s := &Server{opts: o, now: time.Now}
	s.views = newViewState(&s.opts)
	var err error
	if s.pages, err = s.parseTemplates(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := s.opts.Prefix; p != "" {
		rest, ok := strings.CutPrefix(r.URL.Path, p)
		if !ok {
			http.NotFound(w, r)
			return
		}
		r2 := *r
		u := *r.URL
		u.Path, u.RawPath = rest, ""
		r2.URL = &u
		r = &r2
	}
	s.handler.ServeHTTP(w, r)
}

// Report feeds the live views.
func (s *Server) Report(ctx context.Context, e status.Event) error {
	return s.views.live.Report(ctx, e)
}

// Name names the server in Hub statistics.
func (s *Server) Name() string { return "web" }

// Close ends the live streams.
func (s *Server) Close(ctx context.Context) error { return s.views.live.Close(ctx) }

type page struct {
	pattern string
	serve   func(r *http.Request) (*view, error)
	nav     string
	static  bool
}

type view struct {
	Template string
	Title    string
	Data     any
}

func (s *Server) pageTable() []page {
	return s.viewPages()
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, p := range s.pageTable() {
		mux.Handle("GET "+p.pattern, s.pageHandler(p))
	}
	for _, h := range s.viewHandlers() {
		mux.Handle("GET "+h.pattern, s.viewOnly(h.serve))
	}
	mux.HandleFunc("GET /", s.serveStatic)
	return mux
}

func (s *Server) viewOnly(h http.HandlerFunc) http.Handler { return h }

func (s *Server) pageHandler(p page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := p.serve(r)
		if err != nil {
			s.renderErr(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, v)
	})
}

//go:embed static
var builtinStatic embed.FS

func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	sub, _ := fs.Sub(builtinStatic, "static")
	name := strings.TrimPrefix(r.URL.Path, "/")
	if _, err := fs.Stat(sub, name); err != nil || name == "" {
		s.renderError(w, r, http.StatusNotFound, "No such page: "+r.URL.Path)
		return
	}
	http.ServeFileFS(w, r, sub, name)
}

//go:embed templates/*.html
var builtinTemplates embed.FS

const standinLayout = `{{define "top"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} - {{.ProjectTitle}}</title></head><body><nav>{{range .Nav}}<a href="{{url .Path}}">{{.Label}}</a> {{end}}</nav><main>{{end}}
{{define "bottom"}}</main></body></html>{{end}}`

func (s *Server) parseTemplates() (map[string]*template.Template, error) {
	base := template.Must(template.New("layout").Funcs(s.funcs()).Parse(standinLayout))
	entries, err := fs.ReadDir(builtinTemplates, "templates")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, e := range entries {
		b, err := builtinTemplates.ReadFile("templates/" + e.Name())
		if err != nil {
			return nil, err
		}
		t, err := template.Must(base.Clone()).New(e.Name()).Parse(string(b))
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", e.Name(), err)
		}
		pages[e.Name()] = t
	}
	return pages, nil
}

type layoutData struct {
	Title, ProjectTitle, ProjectURL string
	Root                            string
	Nav                             []navLink
	Page                            any
}

type navLink struct{ Label, Path string }

func (s *Server) layout(r *http.Request, title string, data any) *layoutData {
	d := &layoutData{Title: title, ProjectTitle: s.opts.Title, Root: s.opts.Prefix, Page: data}
	for _, p := range s.pageTable() {
		if p.nav != "" {
			d.Nav = append(d.Nav, navLink{p.nav, p.pattern})
		}
	}
	return d
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, v *view) {
	var buf bytes.Buffer
	if v.Template == "error.html" {
		d := v.Data.(errorData)
		buf.WriteString("<!DOCTYPE html><title>error</title><p>" + template.HTMLEscapeString(d.Message))
	} else if err := s.pages[v.Template].ExecuteTemplate(&buf, v.Template, s.layout(r, v.Title, v.Data)); err != nil {
		s.opts.Logger.Error("web: rendering page", "template", v.Template, "err", err)
		http.Error(w, "render error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

type errorData struct {
	Code    int
	Message string
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	s.render(w, r, code, &view{Template: "error.html", Title: http.StatusText(code), Data: errorData{code, msg}})
}

type pageError struct {
	code int
	msg  string
}

func (e *pageError) Error() string { return e.msg }

func notFound(format string, args ...any) error {
	return &pageError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

func (s *Server) renderErr(w http.ResponseWriter, r *http.Request, err error) {
	var pe *pageError
	switch {
	case errors.As(err, &pe):
		s.renderError(w, r, pe.code, pe.msg)
	case errors.Is(err, status.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "No such page: "+r.URL.Path)
	default:
		s.opts.Logger.Error("web: page", "path", r.URL.Path, "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "The history could not be read; the error is in the server log.")
	}
}

func (s *Server) funcs() template.FuncMap {
	root := s.opts.Prefix
	return template.FuncMap{
		"url":        func(p string) string { return root + p },
		"builderURL": func(name string) string { return root + "/builders/" + url.PathEscape(name) },
		"buildURL":   func(b *status.Build) string { return buildPath(root, b.Builder, b.Number) },
		"stepURL": func(b *status.Build, step string) string {
			return buildPath(root, b.Builder, b.Number) + "/steps/" + url.PathEscape(step)
		},
		"logURL": func(l status.LogRef) string {
			return buildPath(root, l.Builder, l.Build) + "/steps/" + url.PathEscape(l.Step) + "/logs/" + url.PathEscape(l.Name)
		},
		"changeURL":  func(id int64) string { return root + "/changes/" + strconv.FormatInt(id, 10) },
		"resultName": func(r status.Result) string { return r.String() },
		"buildClass": buildClass,
		"ts":         formatTime,
		"join":       strings.Join,
		"revlink":    s.revLink,
		"shortrev":   shortRev,
	}
}

func buildPath(root, builder string, number int) string {
	return root + "/builders/" + url.PathEscape(builder) + "/builds/" + strconv.Itoa(number)
}

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

func shortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func (s *Server) revLink(rev, repo string) string {
	if s.opts.RevLink == nil || rev == "" {
		return ""
	}
	return s.opts.RevLink(rev, repo)
}

func queryList(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func queryInt(q url.Values, name string, def, lo, hi int) int {
	v, err := strconv.Atoi(q.Get(name))
	if err != nil {
		return def
	}
	return max(lo, min(hi, v))
}

func queryBool(q url.Values, name string, def bool) bool {
	switch strings.ToLower(q.Get(name)) {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	return def
}

func queryTime(q url.Values, name string) (time.Time, bool) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Unix(0, int64(n*1e9)).UTC(), true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

const maxNumBuilds = 1000

func (s *Server) numBuilds(r *http.Request) int {
	return queryInt(r.URL.Query(), "numbuilds", s.opts.NumBuilds, 1, maxNumBuilds)
}
