package forge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// Error is a status a forge did not take. Targets export it under their
// own name (github.APIError, stash.APIError); errors from Report wrap it,
// so errors.As reads the HTTP status code and what was being set.
type Error struct {
	Forge      string // the target: "github", "stash"
	Repo       string // "owner/name"; "" where the forge's address names it
	SHA        string
	Label      string // what the forge calls Context: "context", "key"
	Context    string // the status's name on the commit
	State      string
	StatusCode int    // 0 when no response came
	Message    string // the forge's message (see Reply), or the network error
	Hint       string // what to check, for refusals the host can fix
	Err        error  // the underlying error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: setting %s on ", e.Forge, e.State)
	switch {
	case e.SHA == "":
		b.WriteString(e.Repo)
	case e.Repo != "":
		fmt.Fprintf(&b, "%s@%s", e.Repo, shortSHA(e.SHA))
	default:
		fmt.Fprintf(&b, "commit %s", shortSHA(e.SHA))
	}
	fmt.Fprintf(&b, " (%s %q): ", e.Label, e.Context)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "HTTP %d %s: ", e.StatusCode, http.StatusText(e.StatusCode))
	}
	b.WriteString(e.Message)
	if e.Hint != "" {
		b.WriteString(": " + e.Hint)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// Classified returns e as status.Retryable when classified (status.ClassifyResponse
// or status.ClassifyNetError of the same failure) is, with its wait; else e.
func Classified(e *Error, classified error) error {
	if after, ok := status.RetryAfter(classified); ok {
		return status.Retryable(e, after)
	}
	return e
}

// Join joins the errors of the statuses of one event. When any of them is
// retryable the result is too, waiting for the longest wait asked: the Hub
// then sends the whole event again, and the statuses that went through are
// identical repeats Memory skips.
func Join(errs ...error) error {
	err := errors.Join(errs...)
	var wait time.Duration
	retry := false
	for _, e := range errs {
		if after, ok := status.RetryAfter(e); ok {
			retry, wait = true, max(wait, after)
		}
	}
	if retry {
		return status.Retryable(err, wait)
	}
	return err
}

// maxReplyBody bounds how much of a failed response is read.
const maxReplyBody = 8 << 10

// Refused reads a failed response of a forge (non-2xx) and returns the
// reply as status.ReplyText makes it, and status.ClassifyResponse's classification
// (Retryable for 429, 5xx, rate limits, with the wait the headers ask). The
// classification is made over the scrubbed reply, so the *status.ResponseError
// it carries holds no more than the message does. secrets are the
// credentials the request carried. The body is read, not closed.
func Refused(resp *http.Response, secrets ...string) (message string, classified error) {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxReplyBody))
	message = status.ReplyText(raw, secrets...)
	scrubbed := *resp
	scrubbed.Body = io.NopCloser(bytes.NewReader([]byte(message)))
	classified = status.ClassifyResponse(&scrubbed)
	if after, ok := status.RetryAfter(classified); ok && after == 0 {
		if reset, ok := rateLimitReset(resp.Header, time.Now()); ok {
			classified = status.Retryable(classified, reset)
		}
	}
	return message, classified
}

// rateLimitReset reads the wait of a throttled answer without Retry-After
// from RateLimit-Reset: Unix seconds as GitLab sends it, or seconds to
// wait as the IETF draft has it.
func rateLimitReset(h http.Header, now time.Time) (time.Duration, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get("RateLimit-Reset")), 10, 64)
	switch {
	case err != nil || n <= 0:
		return 0, false
	case n > 1_000_000_000: // a time, not a wait
		return max(time.Unix(n, 0).Sub(now)+time.Second, time.Second), true
	}
	return time.Duration(n) * time.Second, true
}

// Unreachable describes an error of http.Client.Do without the URL (the
// Error says which commit) and classifies it with status.ClassifyNetError.
func Unreachable(err error) (message string, classified error) {
	message = err.Error()
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		message = ue.Err.Error()
	}
	return message, status.ClassifyNetError(err)
}
