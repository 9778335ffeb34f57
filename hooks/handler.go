package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
)

// DefaultMaxBodyBytes is the body limit when Options.MaxBodyBytes is zero.
// GitHub caps its payloads at 25 MB but a push of 20 commits is about 30 KB.
const DefaultMaxBodyBytes = 10 << 20

// Options configures a Handler. OnChanges and at least one Dialect are required.
type Options struct {
	// OnChanges receives the changes of an accepted request, in payload
	// order. It runs on the request's goroutine with the request's context
	// and may be called concurrently. An error answers 500, so the forge
	// delivers the payload again later.
	OnChanges func(ctx context.Context, dialect string, changes []status.Change) error

	// Dialects are the enabled dialects (Buildbot's change_hook_dialects);
	// each is served at its Name. Any other name answers 404.
	Dialects []Dialect

	// Auth, when set, requires HTTP Basic credentials on every dialect
	// (Buildbot's change_hook_auth): auth.OpenCleartext reads its file,
	// auth.OpenHtpasswd an htpasswd file.
	Auth auth.Authenticator
	// Throttle limits failed logins per client address (default: 10 in 10
	// minutes); share one with the web status to count guesses across both.
	Throttle *auth.Throttle
	// Realm is sent in WWW-Authenticate; default "herald change hooks".
	Realm string

	// MaxBodyBytes bounds the request body (413 above it); default
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// DedupWindow is how long a delivery ID is remembered so that a
	// redelivered payload is acknowledged without being processed twice;
	// default one hour, negative to disable. DedupSize bounds the number of
	// remembered IDs (default 4096; the oldest are forgotten first).
	DedupWindow time.Duration
	DedupSize   int

	// Logger receives one line per rejected or failed request; default
	// slog.Default(). Payloads, secrets and passwords are never logged.
	Logger *slog.Logger
	// Now is the clock for the duplicate window; default time.Now.
	Now func() time.Time
}

// Handler serves the enabled dialects. It is safe for concurrent use and
// starts no goroutine, so it needs no Close.
type Handler struct {
	onChanges func(ctx context.Context, dialect string, changes []status.Change) error
	dialects  map[string]Dialect
	auth      auth.Authenticator
	throttle  *auth.Throttle
	challenge string
	maxBody   int64
	dedup     *deliveries
	log       *slog.Logger
	bodies    sync.Pool // *bytes.Buffer
}

var _ http.Handler = (*Handler)(nil)

// New validates o and returns a Handler.
func New(o Options) (*Handler, error) {
	if o.OnChanges == nil {
		return nil, errors.New("hooks: Options.OnChanges is nil: pass the function that records changes and schedules builds")
	}
	if len(o.Dialects) == 0 {
		return nil, errors.New("hooks: Options.Dialects is empty: enable at least one dialect, e.g. &hooks.GitHub{Secret: ...}")
	}
	if o.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("hooks: Options.MaxBodyBytes is %d: use 0 for the default (%d) or a positive limit", o.MaxBodyBytes, DefaultMaxBodyBytes)
	}
	h := &Handler{
		onChanges: o.OnChanges,
		dialects:  make(map[string]Dialect, len(o.Dialects)),
		auth:      o.Auth,
		throttle:  o.Throttle,
		maxBody:   o.MaxBodyBytes,
		log:       o.Logger,
	}
	for i, d := range o.Dialects {
		if d == nil {
			return nil, fmt.Errorf("hooks: Options.Dialects[%d] is nil", i)
		}
		name := d.Name()
		if name == "" || strings.ContainsAny(name, "/?#") {
			return nil, fmt.Errorf("hooks: Options.Dialects[%d] has name %q: a dialect name is one non-empty path element", i, name)
		}
		if _, dup := h.dialects[name]; dup {
			return nil, fmt.Errorf("hooks: dialect %q is enabled twice: keep one entry per dialect", name)
		}
		if v, ok := d.(interface{ validate() error }); ok {
			if err := v.validate(); err != nil {
				return nil, err
			}
		}
		h.dialects[name] = d
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.throttle == nil {
		h.throttle = auth.NewThrottle(0, 0)
	}
	realm := o.Realm
	if realm == "" {
		realm = "herald change hooks"
	}
	h.challenge = `Basic realm=` + strconv.Quote(realm) + `, charset="UTF-8"`
	if o.DedupWindow >= 0 {
		window, size := o.DedupWindow, o.DedupSize
		if window == 0 {
			window = time.Hour
		}
		if size <= 0 {
			size = 4096
		}
		now := o.Now
		if now == nil {
			now = time.Now
		}
		h.dedup = newDeliveries(window, size, now)
	}
	return h, nil
}

// ServeHTTP checks, in order: credentials (401), dialect (404), method (405),
// body size (413); then the dialect checks content type (415), signature
// (403) and payload (400) and returns the changes, which go to OnChanges
// (500 on failure) unless the delivery was already processed.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := dialectName(r.URL.Path)
	// Credentials first, so that strangers do not learn which dialects exist.
	if h.auth != nil && !h.authorized(w, r, name) {
		return
	}
	d, ok := h.dialects[name]
	if !ok {
		h.reject(w, r, name, &Error{Status: http.StatusNotFound, Reason: fmt.Sprintf("unknown or disabled dialect %q", name)})
		return
	}
	if r.Method != http.MethodPost && !(r.Method == http.MethodGet && acceptsGET(d)) {
		allow := http.MethodPost
		if acceptsGET(d) {
			allow = "GET, POST"
		}
		w.Header().Set("Allow", allow)
		h.reject(w, r, name, &Error{Status: http.StatusMethodNotAllowed, Reason: "method " + r.Method + " not allowed: use " + allow})
		return
	}

	buf, _ := h.bodies.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer h.putBody(buf)
	if err := h.readBody(buf, w, r); err != nil {
		h.reject(w, r, name, err)
		return
	}

	req := &Request{HTTP: r, Payload: buf.Bytes(), maxForm: h.maxBody}
	changes, err := d.Parse(req)
	if err != nil {
		var done polled
		if errors.Is(err, ErrIgnored) || errors.As(err, &done) {
			reply(w, http.StatusOK, err.Error())
			return
		}
		h.reject(w, r, name, err)
		return
	}

	key := "" // the delivery ID, when duplicates are tracked
	if h.dedup != nil {
		key = deliveryID(name, r.Header)
	}
	if key != "" {
		switch h.dedup.claim(key) {
		case seenDone:
			reply(w, http.StatusOK, "duplicate delivery: already processed")
			return
		case seenInFlight:
			h.reject(w, r, name, &Error{Status: http.StatusConflict, Reason: "duplicate delivery: still being processed, retry later"})
			return
		}
	}
	if len(changes) > 0 {
		if err := h.onChanges(r.Context(), name, changes); err != nil {
			if key != "" {
				h.dedup.release(key)
			}
			h.log.Error("hooks: recording changes failed", "dialect", name, "changes", len(changes), "err", err)
			reply(w, http.StatusInternalServerError, "could not record the changes; deliver again later")
			return
		}
	}
	if key != "" {
		h.dedup.done(key)
	}
	h.log.Debug("hooks: changes accepted", "dialect", name, "changes", len(changes))
	reply(w, http.StatusOK, strconv.Itoa(len(changes))+" change(s) accepted")
}

// readBody reads the whole body into buf, answering 413 past the limit.
func (h *Handler) readBody(buf *bytes.Buffer, w http.ResponseWriter, r *http.Request) error {
	tooLarge := &Error{Status: http.StatusRequestEntityTooLarge, Reason: fmt.Sprintf("body larger than %d bytes", h.maxBody)}
	if r.ContentLength > h.maxBody {
		return tooLarge
	}
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge
	case err != nil:
		return &Error{Status: http.StatusBadRequest, Reason: "reading the body: " + err.Error()}
	}
	return nil
}

// putBody recycles body buffers, except huge ones, which would pin memory.
func (h *Handler) putBody(buf *bytes.Buffer) {
	if buf.Cap() > 1<<20 {
		return
	}
	buf.Reset()
	h.bodies.Put(buf)
}

// reject answers err: its status and reason if it is an *Error, else 500
// without details (a custom dialect's internals stay in the log).
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, dialect string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		h.log.Error("hooks: dialect failed", "dialect", dialect, "remote", r.RemoteAddr, "err", err)
		reply(w, http.StatusInternalServerError, "internal error")
		return
	}
	h.log.Warn("hooks: request rejected", "dialect", dialect, "remote", r.RemoteAddr, "status", e.Status, "reason", e.Reason)
	reply(w, e.Status, e.Reason)
}

func reply(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

// dialectName is the last element of the path: the handler works the same
// at /change_hook/ and under any prefix or http.StripPrefix.
func dialectName(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

func acceptsGET(d Dialect) bool {
	g, ok := d.(interface{ acceptsGET() bool })
	return ok && g.acceptsGET()
}
