package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HTTPLog configures the request log: one line per request in the Combined
// Log Format, in its own file like Buildbot's http.log, rotated by size.
type HTTPLog struct {
	// Path of the log file; rotated files get .1, .2... (newest first).
	Path string
	// RotateLength is the size in bytes at which the file is rotated
	// (default 1,000,000, Buildbot's).
	RotateLength int64
	// MaxRotatedFiles is how many rotated files are kept (default 10).
	MaxRotatedFiles int
}

func (h *HTTPLog) validate() error {
	if h.Path == "" {
		return errors.New("web: Options.HTTPLog.Path is empty: name the request log file, e.g. http.log")
	}
	if h.RotateLength < 0 || h.MaxRotatedFiles < 0 {
		return errors.New("web: Options.HTTPLog: RotateLength and MaxRotatedFiles must not be negative")
	}
	if h.RotateLength == 0 {
		h.RotateLength = 1_000_000
	}
	if h.MaxRotatedFiles == 0 {
		h.MaxRotatedFiles = 10
	}
	return nil
}

// rotatingLog appends lines to a file and rotates it by size. Writes are
// serialized; a write error is reported once per failure streak, to the
// server's logger, and never fails a request.
type rotatingLog struct {
	cfg    HTTPLog
	logger *slog.Logger

	mu     sync.Mutex
	f      *os.File
	size   int64
	closed bool
	failed bool // the last write failed: already reported
}

func openRotatingLog(cfg *HTTPLog, logger *slog.Logger) (*rotatingLog, error) {
	l := &rotatingLog{cfg: *cfg, logger: logger}
	if err := l.open(); err != nil {
		return nil, fmt.Errorf("web: HTTP log: %w", err)
	}
	return l, nil
}

func (l *rotatingLog) open() error {
	f, err := os.OpenFile(l.cfg.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// rotate renames path.N to path.N+1 (dropping the oldest), path to path.1,
// and opens a fresh file.
func (l *rotatingLog) rotate() error {
	l.f.Close()
	l.f = nil
	os.Remove(l.cfg.Path + "." + strconv.Itoa(l.cfg.MaxRotatedFiles))
	for i := l.cfg.MaxRotatedFiles - 1; i >= 1; i-- {
		os.Rename(l.cfg.Path+"."+strconv.Itoa(i), l.cfg.Path+"."+strconv.Itoa(i+1))
	}
	if err := os.Rename(l.cfg.Path, l.cfg.Path+".1"); err != nil {
		return err
	}
	return l.open()
}

func (l *rotatingLog) write(line []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	if l.f == nil {
		if err := l.open(); err != nil {
			return err
		}
	}
	if l.size > 0 && l.size+int64(len(line)) > l.cfg.RotateLength {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(line)
	l.size += int64(n)
	return err
}

func (l *rotatingLog) report(err error) {
	l.mu.Lock()
	first := err != nil && !l.failed
	l.failed = err != nil
	l.mu.Unlock()
	if first {
		l.logger.Error("web: writing the HTTP log failed; further failures are not reported until it works again", "path", l.cfg.Path, "err", err)
	}
}

// request logs one request in the Combined Log Format.
func (l *rotatingLog) request(r *http.Request, code int, size int64, start, end time.Time) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	// The user is a bare token in the Combined Log Format: anything odd in
	// a name from a front end's header is replaced.
	u := strings.Map(func(c rune) rune {
		if c <= ' ' || c == '"' || c == 0x7f {
			return '_'
		}
		return c
	}, user(r))
	if u == "" {
		u = "-"
	}
	line := fmt.Sprintf("%s - %s [%s] %s %d %d %s %s %dms\n", host, u,
		start.Format("02/Jan/2006:15:04:05 -0700"),
		strconv.Quote(r.Method+" "+r.URL.RequestURI()+" "+r.Proto), code, size,
		strconv.Quote(r.Referer()), strconv.Quote(r.UserAgent()), end.Sub(start).Milliseconds())
	l.report(l.write([]byte(line)))
}

func (l *rotatingLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.f == nil {
		l.closed = true
		return nil
	}
	l.closed = true
	return l.f.Close()
}
