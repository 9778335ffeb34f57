package web

import (
	"errors"
	"fmt"
	"hash/fnv"
	"image/color"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"

	"github.com/heraldci/herald/status"
)

// Status images: /png (Buildbot's) and /badge.svg (what READMEs embed
// today) draw the same thing, the builder's name beside the result of its
// last finished build, or of the build named by number= or revision= (a
// full commit hash; number wins). Both are small, so they are made per
// request; an ETag spares the bytes when nothing changed.

// badgeStatus is what an image says.
type badgeStatus struct {
	Label   string
	Message string
	Color   color.RGBA
}

// Colours after shields.io's, so badges look at home beside others.
var (
	colorPassing   = color.RGBA{0x44, 0xcc, 0x11, 0xff}
	colorWarnings  = color.RGBA{0xdf, 0xb3, 0x17, 0xff}
	colorFailing   = color.RGBA{0xe0, 0x5d, 0x44, 0xff}
	colorException = color.RGBA{0xa0, 0x5b, 0xb5, 0xff}
	colorRetry     = color.RGBA{0xfe, 0x7d, 0x37, 0xff}
	colorRunning   = color.RGBA{0x00, 0x7e, 0xc6, 0xff}
	colorUnknown   = color.RGBA{0x9f, 0x9f, 0x9f, 0xff}
	colorLabel     = color.RGBA{0x55, 0x55, 0x55, 0xff}
)

// statusOf describes a build (nil: none yet).
func statusOf(label string, b *status.Build) badgeStatus {
	st := badgeStatus{Label: label, Message: "no builds", Color: colorUnknown}
	switch {
	case b == nil:
	case !b.Done():
		st.Message, st.Color = "running", colorRunning
	default:
		switch b.Result {
		case status.Success:
			st.Message, st.Color = "passing", colorPassing
		case status.Warnings:
			st.Message, st.Color = "warnings", colorWarnings
		case status.Failure:
			st.Message, st.Color = "failing", colorFailing
		case status.Exception:
			st.Message, st.Color = "exception", colorException
		case status.Retry:
			st.Message, st.Color = "retry", colorRetry
		default:
			st.Message = b.Result.String()
		}
	}
	return st
}

// fullHash matches a full SHA-1 or SHA-256 commit hash.
var fullHash = regexp.MustCompile(`^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$`)

// imageBuild finds the build an image request names. Errors are
// *pageError with the status to answer.
func (s *Server) imageBuild(r *http.Request) (*status.Build, error) {
	q := r.URL.Query()
	name := q.Get("builder")
	if name == "" {
		return nil, &pageError{http.StatusBadRequest, "builder= is required: the builder whose status to show"}
	}
	ctx := r.Context()
	h := s.opts.History
	if _, err := h.Builder(ctx, name); err != nil {
		if errors.Is(err, status.ErrNotFound) {
			return nil, notFound("no builder %q", name)
		}
		return nil, err
	}
	if v := q.Get("number"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, &pageError{http.StatusBadRequest, "number= must be a build number"}
		}
		b, err := h.Build(ctx, name, n)
		if errors.Is(err, status.ErrNotFound) {
			return nil, notFound("no build %d of builder %q", n, name)
		}
		return b, err
	}
	bq := status.BuildQuery{Builders: []string{name}, Finished: true, Limit: 1}
	if rev := q.Get("revision"); rev != "" {
		if !fullHash.MatchString(rev) {
			return nil, &pageError{http.StatusBadRequest, "revision= must be a full commit hash (40 or 64 hex digits)"}
		}
		bq.Revision, bq.Finished = rev, false
	}
	builds, err := h.Builds(ctx, bq)
	if err != nil || len(builds) == 0 {
		if err == nil && bq.Revision != "" {
			err = notFound("no build of %q at revision %s", name, bq.Revision)
		}
		return nil, err
	}
	return builds[0], nil
}

// imageStatus answers an image request's lookup: the status, or an error
// already written.
func (s *Server) imageStatus(w http.ResponseWriter, r *http.Request) (badgeStatus, int, bool) {
	b, err := s.imageBuild(r)
	label := r.URL.Query().Get("label")
	if label == "" {
		label = r.URL.Query().Get("builder")
	}
	label = truncate(label, 60)
	var pe *pageError
	switch {
	case err == nil:
		return statusOf(label, b), http.StatusOK, true
	case errors.As(err, &pe) && pe.code == http.StatusNotFound:
		// An image still, so a README shows "not found" rather than a
		// broken image; the status tells tools.
		return badgeStatus{Label: label, Message: "not found", Color: colorUnknown}, http.StatusNotFound, true
	case errors.As(err, &pe):
		http.Error(w, pe.msg, pe.code)
	default:
		s.opts.Logger.Error("web: status image", "path", r.URL.Path, "err", err)
		http.Error(w, "the history could not be read", http.StatusInternalServerError)
	}
	return badgeStatus{}, 0, false
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// writeImage writes an image with caching headers: clients revalidate
// every time and get 304 while the status is unchanged.
func writeImage(w http.ResponseWriter, r *http.Request, code int, contentType string, key string, body func() ([]byte, error)) {
	h := fnv.New64a()
	h.Write([]byte(key))
	etag := fmt.Sprintf(`"%x"`, h.Sum64())
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", etag)
	if code == http.StatusOK && r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	b, err := body()
	if err != nil {
		http.Error(w, "the image could not be drawn", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

// serveBadge is /badge.svg: builder=, number=, revision= as /png, and
// label= to replace the builder's name.
func (s *Server) serveBadge(w http.ResponseWriter, r *http.Request) {
	st, code, ok := s.imageStatus(w, r)
	if !ok {
		return
	}
	// Opened on its own, an SVG is a document: it may do nothing active.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	writeImage(w, r, code, "image/svg+xml; charset=utf-8", "svg\x00"+st.Label+"\x00"+st.Message, func() ([]byte, error) {
		return s.views.fonts.badgeSVG(st)
	})
}

// fonts holds the parsed Go font and pools of faces: a font.Face is not
// safe for concurrent use, and making one costs more than drawing a badge.
type fonts struct {
	parse func() (*opentype.Font, error)
	mu    sync.Mutex
	pools map[float64]*sync.Pool
	// pngBuffers is reused PNG encoder state.
	pngBuffers *pngBuffers
}

func newFonts() *fonts {
	return &fonts{
		parse:      sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(goregular.TTF) }),
		pools:      map[float64]*sync.Pool{},
		pngBuffers: &pngBuffers{},
	}
}

// face lends a face of the given size; give it back with put.
func (f *fonts) face(size float64) (font.Face, func(), error) {
	f.mu.Lock()
	p := f.pools[size]
	if p == nil {
		p = &sync.Pool{}
		f.pools[size] = p
	}
	f.mu.Unlock()
	if fc, ok := p.Get().(font.Face); ok {
		return fc, func() { p.Put(fc) }, nil
	}
	otf, err := f.parse()
	if err != nil {
		return nil, nil, err
	}
	fc, err := opentype.NewFace(otf, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, nil, err
	}
	return fc, func() { p.Put(fc) }, nil
}

// badgeSVG draws a shields-style flat badge. Text widths are measured with
// the Go font; textLength makes any fallback font fit the same box.
func (f *fonts) badgeSVG(st badgeStatus) ([]byte, error) {
	fc, put, err := f.face(11)
	if err != nil {
		return nil, err
	}
	lw := font.MeasureString(fc, st.Label).Ceil()
	mw := font.MeasureString(fc, st.Message).Ceil()
	put()
	const pad = 6
	left, right := lw+2*pad, mw+2*pad
	width := left + right
	label, msg := xmlEscape(st.Label), xmlEscape(st.Message)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s">`, width, label, msg)
	fmt.Fprintf(&b, `<title>%s: %s</title>`, label, msg)
	b.WriteString(`<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`)
	fmt.Fprintf(&b, `<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`, width)
	fmt.Fprintf(&b, `<g clip-path="url(#r)"><rect width="%d" height="20" fill="%s"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>`,
		left, hexColor(colorLabel), left, right, hexColor(st.Color), width)
	b.WriteString(`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">`)
	for _, t := range []struct {
		x, w int
		s    string
	}{{left / 2, lw, label}, {left + right/2, mw, msg}} {
		fmt.Fprintf(&b, `<text aria-hidden="true" x="%d" y="15" fill="#010101" fill-opacity=".3" textLength="%d" lengthAdjust="spacingAndGlyphs">%s</text>`, t.x, t.w, t.s)
		fmt.Fprintf(&b, `<text x="%d" y="14" textLength="%d" lengthAdjust="spacingAndGlyphs">%s</text>`, t.x, t.w, t.s)
	}
	b.WriteString(`</g></svg>`)
	return []byte(b.String()), nil
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// xmlEscape escapes text for element content and attribute values.
func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r < 0x20 || r == 0xfffe || r == 0xffff || r >= 0xd800 && r < 0xe000:
			b.WriteRune('\ufffd') // not allowed in XML
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
