package web

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/heraldci/herald/status"
)

// headerMark starts a header line in a log: Buildbot's header channel (the
// command run, its directory and environment, the exit code). The HTML log
// shows header lines in their own style; /text leaves them out.
const headerMark = '\x1e'

// logBuffer bounds what a log page holds in memory at once: logs are
// streamed, never loaded whole.
const logBuffer = 64 << 10

type logData struct {
	Build *status.Build
	Step  *status.Step
	Log   status.LogRef
}

// openLog finds the log the path names and opens it.
func (s *Server) openLog(r *http.Request) (*logData, io.ReadCloser, error) {
	b, err := s.buildOf(r)
	if err != nil {
		return nil, nil, err
	}
	st := findStep(b, r.PathValue("step"))
	if st == nil {
		return nil, nil, notFound("Build %d of %s has no step %q.", b.Number, b.Builder, r.PathValue("step"))
	}
	for _, l := range st.Logs {
		if l.Name != r.PathValue("log") {
			continue
		}
		rc, err := s.opts.History.Log(r.Context(), l)
		if errors.Is(err, status.ErrNotFound) {
			return nil, nil, notFound("The log %q of step %q is not available.", l.Name, st.Name)
		}
		return &logData{b, st, l}, rc, err
	}
	return nil, nil, notFound("Step %q has no log %q.", st.Name, r.PathValue("log"))
}

// serveLogHTML streams a log as an HTML page, ANSI colours rendered.
func (s *Server) serveLogHTML(w http.ResponseWriter, r *http.Request) {
	d, rc, err := s.openLog(r)
	if err != nil {
		s.renderErr(w, r, err)
		return
	}
	defer rc.Close()
	t := s.pages["log.html"]
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	bw := bufio.NewWriterSize(w, logBuffer)
	defer bw.Flush()
	title := d.Build.Builder + " #" + strconv.Itoa(d.Build.Number) + " " + d.Step.Name + " " + d.Log.Name
	data := s.layout(r, title, d)
	if err := t.ExecuteTemplate(bw, "log_head", data); err != nil {
		s.opts.Logger.Error("web: rendering log page", "err", err)
		return
	}
	out := newANSIHTML(bw)
	err = eachLine(rc, func(line []byte, header, cont bool) {
		if !header {
			out.line(line)
			return
		}
		if !cont {
			line = line[1:] // the mark itself
		}
		bw.WriteString(`<span class="header">`)
		out.line(line)
		bw.WriteString(`</span>`)
	})
	if err != nil && r.Context().Err() == nil {
		s.opts.Logger.Warn("web: reading log", "log", d.Log, "err", err)
		bw.WriteString("\n[log truncated: read error]\n")
	}
	t.ExecuteTemplate(bw, "log_foot", data)
}

// serveLogText streams a log as plain text without its header lines.
func (s *Server) serveLogText(w http.ResponseWriter, r *http.Request) {
	_, rc, err := s.openLog(r)
	if err != nil {
		s.renderErr(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	bw := bufio.NewWriterSize(w, logBuffer)
	defer bw.Flush()
	err = eachLine(rc, func(line []byte, header, _ bool) {
		if !header {
			bw.Write(line)
		}
	})
	if err != nil && r.Context().Err() == nil {
		s.opts.Logger.Warn("web: reading log", "path", r.URL.Path, "err", err)
	}
}

// eachLine calls f for every line of r, newline included, in pieces of at
// most logBuffer bytes: header reports whether the line starts with
// headerMark, cont whether this piece continues a longer line.
func eachLine(r io.Reader, f func(line []byte, header, cont bool)) error {
	br := bufio.NewReaderSize(r, logBuffer)
	cont, header := false, false
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if !cont {
				header = line[0] == headerMark
			}
			f(line, header, cont)
			cont = err == bufio.ErrBufferFull
		}
		switch err {
		case nil, bufio.ErrBufferFull:
		case io.EOF:
			return nil
		default:
			return err
		}
	}
}
