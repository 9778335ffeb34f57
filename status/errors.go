package status

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var (
	// ErrUnsupported is returned by a History or Control that does not offer
	// an operation.
	ErrUnsupported = errors.New("status: not supported by this host")
	// ErrNotFound is returned by History and Control for unknown builders,
	// builds, logs, changes, requests and workers.
	ErrNotFound = errors.New("status: not found")
)

// ParseError reports input that could not be parsed.
type ParseError struct {
	What  string // "result", "event kind", "template" ...
	Input string
	Err   error // the reason, if any
}

func (e *ParseError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("status: bad %s %q: %v", e.What, e.Input, e.Err)
	}
	return fmt.Sprintf("status: unknown %s %q", e.What, e.Input)
}

func (e *ParseError) Unwrap() error { return e.Err }

// retryable marks a transient failure.
type retryable struct {
	err   error
	after time.Duration
}

func (r *retryable) Error() string {
	if r.after > 0 {
		return fmt.Sprintf("%v (retry after %v)", r.err, r.after)
	}
	return r.err.Error()
}

func (r *retryable) Unwrap() error { return r.err }

// Retryable marks err as a transient failure: the Hub will call Report again
// with the same event, waiting at least after (0: the retry policy's backoff).
// Retryable(nil, ...) is nil.
func Retryable(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryable{err: err, after: max(after, 0)}
}

// RetryAfter reports whether err (or an error it wraps or joins) was marked
// Retryable, and the wait it asked for.
func RetryAfter(err error) (after time.Duration, ok bool) {
	var r *retryable
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}

// IsRetryable reports whether err was marked Retryable.
func IsRetryable(err error) bool {
	_, ok := RetryAfter(err)
	return ok
}

// ResponseError is a non-2xx HTTP response, as ClassifyResponse returns it.
type ResponseError struct {
	Code   int
	Status string // e.g. "422 Unprocessable Entity"
	Body   string // the start of the response body, for the message
}

func (e *ResponseError) Error() string {
	if e.Body == "" {
		return "HTTP " + e.Status
	}
	return "HTTP " + e.Status + ": " + e.Body
}

// maxErrorBody bounds how much of a failed response goes into an error.
const maxErrorBody = 512

// ClassifyResponse classifies a response: nil on 2xx; Retryable for 408, 425, 429,
// 5xx and for 403s that are rate limits (X-RateLimit-Remaining: 0, or a
// Retry-After header: GitHub's primary and secondary limits), waiting as
// Retry-After or X-RateLimit-Reset say; a plain *ResponseError otherwise. It
// reads (a bounded part of) the body of a failed response for the message but
// does not close it.
func ClassifyResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	body := ReplyText(b, requestSecrets(resp.Request)...)
	err := &ResponseError{Code: resp.StatusCode, Status: resp.Status, Body: body}
	if err.Status == "" {
		err.Status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	after, limited := rateLimitWait(resp.Header, time.Now())
	switch {
	case resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode == http.StatusRequestTimeout,
		resp.StatusCode == http.StatusTooEarly,
		resp.StatusCode >= 500:
		return Retryable(err, after)
	case resp.StatusCode == http.StatusForbidden && limited:
		return Retryable(err, after)
	}
	return err
}

// requestSecrets lists what the request carried as credentials: some
// servers echo the request's headers or URL in their error bodies, and the
// body goes into errors and logs.
func requestSecrets(req *http.Request) []string {
	if req == nil {
		return nil
	}
	var secrets []string
	for name, values := range req.Header {
		n := strings.ToLower(name)
		if !strings.Contains(n, "auth") && !strings.Contains(n, "token") && !strings.Contains(n, "key") &&
			!strings.Contains(n, "secret") && !strings.Contains(n, "cookie") && !strings.Contains(n, "pass") {
			continue
		}
		for _, v := range values {
			secrets = append(secrets, v)
			if scheme, cred, ok := strings.Cut(v, " "); ok {
				secrets = append(secrets, cred)
				if strings.EqualFold(scheme, "basic") {
					if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
						if _, pass, ok := strings.Cut(string(dec), ":"); ok {
							secrets = append(secrets, pass)
						}
					}
				}
			}
		}
	}
	if req.URL != nil {
		if pass, ok := req.URL.User.Password(); ok {
			secrets = append(secrets, pass)
		}
		for name, values := range req.URL.Query() {
			n := strings.ToLower(name)
			if strings.Contains(n, "token") || strings.Contains(n, "key") || strings.Contains(n, "secret") {
				secrets = append(secrets, values...)
			}
		}
	}
	return slices.DeleteFunc(secrets, func(s string) bool { return len(s) < 4 })
}

// rateLimitWait reads Retry-After (seconds or HTTP date) and, when
// X-RateLimit-Remaining is 0, X-RateLimit-Reset (Unix seconds). limited is
// true when either says the request was throttled.
func rateLimitWait(h http.Header, now time.Time) (after time.Duration, limited bool) {
	if v := h.Get("Retry-After"); v != "" {
		limited = true
		if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			after = time.Duration(s) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			after = t.Sub(now)
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		limited = true
		if s, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			after = max(after, time.Unix(s, 0).Sub(now)+time.Second)
		}
	}
	return max(after, 0), limited
}

// ClassifyNetError classifies an error from a network call (http.Client.Do, a dial,
// an SMTP or SSH session): connection refused or reset, timeouts, DNS
// failures and unexpected EOFs become Retryable; cancellation of the
// caller's context and everything else are returned unchanged.
func ClassifyNetError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || IsRetryable(err) {
		return err
	}
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded), // a per-request timeout
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF),
		errors.As(err, &oe),
		errors.As(err, &de),
		errors.As(err, &ne) && ne.Timeout():
		return Retryable(err, 0)
	}
	return err
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "<nil>"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.PkgPath() != "" {
		return t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:] + "." + t.Name()
	}
	return t.String()
}
