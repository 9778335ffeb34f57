package web

import (
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var builtinStatic embed.FS

// staticFS layers PublicHTML over the embedded files.
func (s *Server) staticFS() fs.FS {
	sub, _ := fs.Sub(builtinStatic, "static")
	if s.public == nil {
		return sub
	}
	return layered{s.public.FS(), sub}
}

// publicHas reports whether PublicHTML has the file name.
func (s *Server) publicHas(name string) bool {
	if s.public == nil {
		return false
	}
	fi, err := s.public.Stat(name)
	return err == nil && !fi.IsDir()
}

// hidden reports whether a path names a dotfile or lies in a dot
// directory: those are a site's private files (.htpasswd, .git/config).
func hidden(name string) bool {
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") && seg != "." {
			return true
		}
	}
	return false
}

// layered opens a file from the first FS that has it.
type layered []fs.FS

func (l layered) Open(name string) (fs.File, error) {
	var first error
	for _, f := range l {
		file, err := f.Open(name)
		if err == nil {
			return file, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// serveStatic serves PublicHTML and the embedded files for every path no
// page claims; "/" is the welcome page unless PublicHTML has index.html.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if name == "" {
		name = "."
	}
	if hidden(name) {
		s.renderError(w, r, http.StatusNotFound, "No such page: "+r.URL.Path)
		return
	}
	fi, err := fs.Stat(s.static, name)
	if err == nil && fi.IsDir() {
		name = path.Join(name, "index.html")
		fi, err = fs.Stat(s.static, name)
	}
	if err != nil || fi.IsDir() {
		if errors.Is(err, fs.ErrPermission) {
			s.renderError(w, r, http.StatusForbidden, "Forbidden.")
			return
		}
		s.renderError(w, r, http.StatusNotFound, "No such page: "+r.URL.Path)
		return
	}
	if !s.opts.Authz.allowed(View, user(r), nil) && name != "default.css" {
		s.renderError(w, r, http.StatusForbidden, "You are not allowed to view this site: log in first.")
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeFileFS(w, r, s.static, name)
}
