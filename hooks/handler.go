package hooks

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
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

// DefaultMaxChanges is the change limit of one delivery when
// Options.MaxChanges is zero: the most commits GitHub lists in a push.
const DefaultMaxChanges = 2048

// DefaultBodyTimeout is how long a body may take to arrive when
// Options.BodyTimeout is zero.
const DefaultBodyTimeout = 30 * time.Second

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
	// DefaultMaxBodyBytes. Memory grows only as bytes arrive, whatever
	// Content-Length claims.
	MaxBodyBytes int64
	// BodyTimeout bounds how long the body may take to arrive once the
	// headers are read (408 after it), so that a client trickling a body
	// cannot hold a connection and its buffer; default DefaultBodyTimeout,
	// negative for none (then set http.Server.ReadTimeout).
	BodyTimeout time.Duration
	// MaxChanges bounds the changes one delivery may make (a push of
	// 100,000 commits would otherwise schedule 100,000 builds): above it the
	// delivery is refused with 413 and the reason; default
	// DefaultMaxChanges.
	MaxChanges int

	// DedupWindow is how long a delivery ID is remembered so that a
	// redelivered payload is acknowledged without being processed twice;
	// default one hour, negative to disable. DedupSize bounds the number of
	// remembered IDs (default 4096; the oldest are forgotten first).
	DedupWindow time.Duration
	DedupSize   int

	// Logger receives one line per rejected or failed request; default
	// slog.Default(). Payloads, secrets and passwords are never logged.
	Logger *slog.Logger
	// Now is the clock for the duplicate window and the time stamped on
	// changes whose payload gives none; default time.Now.
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
	bodyTime  time.Duration
	maxChange int
	now       func() time.Time
	dedup     *deliveries
	log       *slog.Logger
	bodies    sync.Pool // *bytes.Buffer
}

var _ http.Handler = (*Handler)(nil)

// New validates o and returns a Handler. Every problem is reported at once.
func New(o Options) (*Handler, error) {
	var errs []error
	if o.OnChanges == nil {
		errs = append(errs, errors.New("hooks: Options.OnChanges is nil: pass the function that records changes and schedules builds"))
	}
	if len(o.Dialects) == 0 {
		errs = append(errs, errors.New("hooks: Options.Dialects is empty: enable at least one dialect, e.g. &hooks.GitHub{Secret: ...}"))
	}
	if o.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("hooks: Options.MaxBodyBytes is %d: use 0 for the default (%d) or a positive limit", o.MaxBodyBytes, DefaultMaxBodyBytes))
	}
	if o.MaxChanges < 0 {
		errs = append(errs, fmt.Errorf("hooks: Options.MaxChanges is %d: use 0 for the default (%d) or a positive limit", o.MaxChanges, DefaultMaxChanges))
	}
	h := &Handler{
		onChanges: o.OnChanges,
		dialects:  make(map[string]Dialect, len(o.Dialects)),
		auth:      o.Auth,
		throttle:  o.Throttle,
		maxBody:   cmp.Or(o.MaxBodyBytes, DefaultMaxBodyBytes),
		bodyTime:  cmp.Or(o.BodyTimeout, DefaultBodyTimeout),
		maxChange: cmp.Or(o.MaxChanges, DefaultMaxChanges),
		now:       o.Now,
		log:       cmp.Or(o.Logger, slog.Default()),
	}
	for i, d := range o.Dialects {
		if d == nil {
			errs = append(errs, fmt.Errorf("hooks: Options.Dialects[%d] is nil", i))
			continue
		}
		name := d.Name()
		if name == "" || strings.ContainsAny(name, "/?#") {
			errs = append(errs, fmt.Errorf("hooks: Options.Dialects[%d] has name %q: a dialect name is one non-empty path element", i, name))
			continue
		}
		if _, dup := h.dialects[name]; dup {
			errs = append(errs, fmt.Errorf("hooks: dialect %q is enabled twice: keep one entry per dialect", name))
			continue
		}
		if v, ok := d.(interface{ validate() error }); ok {
			if err := v.validate(); err != nil {
				errs = append(errs, err)
			}
		}
		h.dialects[name] = d
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.throttle == nil {
		h.throttle = auth.NewThrottle(0, 0)
	}
	realm := cmp.Or(o.Realm, "herald change hooks")
	h.challenge = `Basic realm=` + strconv.Quote(realm) + `, charset="UTF-8"`
	if o.DedupWindow >= 0 {
		window := cmp.Or(o.DedupWindow, time.Hour)
		size := o.DedupSize
		if size <= 0 {
			size = 4096
		}
		h.dedup = newDeliveries(window, size, h.now)
	}
	return h, nil
}

// ServeHTTP checks, in order: credentials (401), dialect (404), method (405),
// declared body size (413), what the dialect can check from the headers
// alone (415, 403: a missing or wrong token, a missing signature); then it
// reads the body (413, 408) and the dialect checks the signature (403) and
// the payload (400) and returns the changes. More than MaxChanges is a 413;
// the others go to OnChanges (500 on failure) unless the delivery was
// already processed.
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

	if r.ContentLength > h.maxBody {
		closeAfter(w)
		h.reject(w, r, name, h.tooLarge())
		return
	}
	if pc, ok := d.(headerChecker); ok {
		if err := pc.checkHeaders(r); err != nil {
			closeAfter(w)
			h.reject(w, r, name, err)
			return
		}
	}
	received := h.now()

	buf, _ := h.bodies.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer h.putBody(buf)
	if err := h.readBody(buf, w, r); err != nil {
		closeAfter(w)
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

	if len(changes) > h.maxChange {
		h.reject(w, r, name, &Error{Status: http.StatusRequestEntityTooLarge,
			Reason: fmt.Sprintf("the delivery makes %d changes, more than the %d allowed (Options.MaxChanges): push fewer commits at once", len(changes), h.maxChange)})
		return
	}
	for i := range changes {
		if changes[i].When.IsZero() {
			changes[i].When = received
		}
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

// headerChecker is a dialect that can refuse a request from its headers
// alone (content type, a token, a missing signature), before its body is
// read: a stranger then costs no body buffer.
type headerChecker interface {
	checkHeaders(r *http.Request) error
}

// closeAfter closes the connection after a reply sent before the body was
// read: net/http would otherwise wait for the unread body to keep the
// connection alive, and the client that sent only headers would hold it.
func closeAfter(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
}

func (h *Handler) tooLarge() error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Reason: fmt.Sprintf("body larger than %d bytes", h.maxBody)}
}

// initialBody is the most a body buffer is grown to before bytes arrive: a
// declared Content-Length is a claim, not memory to hand out.
const initialBody = 32 << 10

// readBody reads the whole body into buf within the body timeout, answering
// 413 past the limit and 408 when the client is too slow. The buffer grows
// only as bytes arrive.
func (h *Handler) readBody(buf *bytes.Buffer, w http.ResponseWriter, r *http.Request) error {
	if h.bodyTime > 0 {
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(h.bodyTime)); err == nil {
			defer rc.SetReadDeadline(time.Time{})
		}
	}
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength, initialBody)))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return h.tooLarge()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &Error{Status: http.StatusRequestTimeout, Reason: fmt.Sprintf("the body did not arrive within %v", h.bodyTime)}
	case err != nil:
		return &Error{Status: http.StatusBadRequest, Reason: "reading the body: " + err.Error()}
	}
	return nil
}

// putBody recycles body buffers, except huge ones, which would pin memory.
func (h *Handler) putBody(buf *bytes.Buffer) {
	if buf.Cap() > 256<<10 {
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
