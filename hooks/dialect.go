package hooks

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/heraldci/herald/status"
)

// A Dialect turns one webhook request into changes. The Handler has already
// checked credentials, method and body size; the dialect checks the content
// type and signature (before decoding anything) and decodes the payload.
//
// Parse returns an *Error (see Reject) for a request it refuses, an error
// made by Ignored for a valid request that carries no change (a ping), and
// any other error for its own failure (answered 500). Parse may be called
// concurrently and must not keep r.Payload after it returns.
type Dialect interface {
	// Name is the last path element the dialect is served at ("github").
	Name() string
	Parse(r *Request) ([]status.Change, error)
}

// Request is what a Dialect parses: the HTTP request and its body, read in
// full and bounded by Options.MaxBodyBytes.
type Request struct {
	// HTTP is the incoming request. Its Body has been consumed: use Payload.
	HTTP *http.Request
	// Payload is the request body. It is only valid during Parse.
	Payload []byte

	maxForm int64
	query   url.Values
}

// Query returns the URL query arguments (?project=, ?codebase=).
func (r *Request) Query() url.Values {
	if r.query == nil {
		r.query = r.HTTP.URL.Query()
	}
	return r.query
}

// MediaType returns the Content-Type without parameters, lower case ("" if
// absent or malformed).
func (r *Request) MediaType() string {
	mt, _, err := mime.ParseMediaType(r.HTTP.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// RequireMediaType answers 415 unless the content type is one of types.
func (r *Request) RequireMediaType(types ...string) (string, error) {
	mt := r.MediaType()
	for _, t := range types {
		if mt == t {
			return mt, nil
		}
	}
	named := slices.DeleteFunc(slices.Clone(types), func(t string) bool { return t == "" })
	return "", &Error{Status: http.StatusUnsupportedMediaType,
		Reason: fmt.Sprintf("content type %q not supported: send %s", mt, strings.Join(named, " or "))}
}

// Form returns the form fields of an application/x-www-form-urlencoded or
// multipart/form-data body followed by the query arguments, as
// http.Request.Form orders them. Uploaded files are ignored.
func (r *Request) Form() (url.Values, error) {
	form := url.Values{}
	switch r.MediaType() {
	case "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(r.Payload))
		if err != nil {
			return nil, Reject(http.StatusBadRequest, "malformed form body: %v", err)
		}
		form = v
	case "multipart/form-data":
		_, params, _ := mime.ParseMediaType(r.HTTP.Header.Get("Content-Type"))
		if params["boundary"] == "" {
			return nil, Reject(http.StatusBadRequest, "multipart body without boundary")
		}
		mf, err := multipart.NewReader(bytes.NewReader(r.Payload), params["boundary"]).ReadForm(r.maxForm)
		if err != nil {
			return nil, Reject(http.StatusBadRequest, "malformed multipart body: %v", err)
		}
		defer mf.RemoveAll()
		for k, vs := range mf.Value {
			form[k] = vs
		}
	}
	for k, vs := range r.Query() {
		form[k] = append(form[k], vs...)
	}
	return form, nil
}

// Error is a refused request: the Handler answers Status with Reason as a
// plain-text body.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("hooks: %d %s", e.Status, e.Reason) }

// Reject returns an *Error with the status and a formatted reason.
func Reject(status int, format string, args ...any) error {
	return &Error{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// badPayload is the 400 of a payload that does not decode.
func badPayload(format string, args ...any) error {
	return &Error{Status: http.StatusBadRequest, Reason: "bad payload: " + fmt.Sprintf(format, args...)}
}

// ErrIgnored marks a valid request without changes (a ping, an event the
// dialect does not handle): the Handler answers 200 with the reason.
var ErrIgnored = errors.New("ignored")

// Ignored returns an error wrapping ErrIgnored with a reason.
func Ignored(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrIgnored, fmt.Sprintf(format, args...))
}
