package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// APIError is a status GitHub did not set: its Repo ("owner/name"), SHA,
// Context, State, StatusCode (0 when no response came) and GitHub's
// Message (capped, with anything shaped like a credential removed). Errors
// from Report wrap it; read it with errors.As.
type APIError = forge.Error

func (r *Reporter) hint(code int) string {
	if r.opts.Checks {
		switch code {
		case http.StatusForbidden:
			return "only a GitHub App may write check runs: give Options.TokenSource (or Options.Token) an installation token of an App with the checks:write permission"
		case http.StatusUnprocessableEntity:
			return "GitHub refused the check run: an unknown commit, or a field it rejects"
		}
	}
	switch code {
	case http.StatusUnauthorized:
		return "check Options.Token (or Options.TokenSource): it is wrong, expired or revoked"
	case http.StatusForbidden:
		return "the token may not set statuses here: it needs the repo:status scope or the statuses:write permission"
	case http.StatusNotFound:
		return "check the owner and name, and that the token can see the repository (GitHub answers 404 for private repositories a token cannot read)"
	case http.StatusUnprocessableEntity:
		return "GitHub refused the status: an unknown commit, or a field it rejects"
	}
	return ""
}

// secondaryWait is how long to wait after a secondary rate limit that named
// no time: GitHub asks for at least a minute.
const secondaryWait = time.Minute

// secondaryLimitWait follows GitHub's advice for secondary limits:
// Retry-After if given, else the primary reset if no request is left, else
// at least a minute. go-github reads X-RateLimit-Reset even when requests
// are left, which can mean an hour's wait for a one-minute limit; its
// answer is used only when it made no request (it remembers the limit).
func secondaryLimitWait(abuse *gh.AbuseRateLimitError) time.Duration {
	if abuse.Response != nil && len(abuse.Response.Header) > 0 {
		h := abuse.Response.Header
		if h.Get("Retry-After") != "" || h.Get("X-RateLimit-Remaining") == "0" {
			if after, ok := status.RetryAfter(status.ClassifyResponse(abuse.Response)); ok && after > 0 {
				return after
			}
		}
		return secondaryWait
	}
	if abuse.RetryAfter != nil && *abuse.RetryAfter > 0 {
		return *abuse.RetryAfter
	}
	return secondaryWait
}

// forgetsLimit reports whether err is a secondary limit for which
// go-github remembers a longer wait than GitHub's advice: it reads
// X-RateLimit-Reset (up to an hour away) where GitHub says to wait a
// minute when requests are left.
func forgetsLimit(err error) bool {
	var abuse *gh.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.RetryAfter == nil {
		return false
	}
	after, _ := status.RetryAfter(err)
	return *abuse.RetryAfter > after+time.Second
}

// classify turns go-github's error into a Herald error: Retryable, with
// GitHub's wait, for rate limits, 5xx and network failures; permanent for
// the rest. Cancellation stays cancellation. GitHub's messages go through
// status.ReplyText, so nothing it echoes of the request reaches a log.
func (r *Reporter) classify(err error, resp *gh.Response, e *APIError) error {
	e.Err = err
	if resp != nil && resp.Response != nil {
		e.StatusCode = resp.StatusCode
	}
	reply := func(s string) string { return status.ReplyText([]byte(s), r.secret) }
	var (
		rate  *gh.RateLimitError
		abuse *gh.AbuseRateLimitError
		er    *gh.ErrorResponse
	)
	switch {
	case errors.Is(err, context.Canceled):
		e.Message = "cancelled"
		return e
	case errors.As(err, &rate):
		e.StatusCode = http.StatusForbidden
		e.Message = fmt.Sprintf("primary rate limit of %d requests used up until %s", rate.Rate.Limit,
			rate.Rate.Reset.Time.UTC().Format(time.RFC3339))
		return status.Retryable(e, time.Until(rate.Rate.Reset.Time)+time.Second)
	case errors.As(err, &abuse):
		e.StatusCode = http.StatusForbidden
		e.Message = "secondary rate limit: " + reply(abuse.Message)
		return status.Retryable(e, secondaryLimitWait(abuse))
	case errors.As(err, &er) && er.Response != nil:
		e.StatusCode = er.Response.StatusCode
		msgs := []string{er.Message}
		for _, fe := range er.Errors {
			if fe.Message != "" {
				msgs = append(msgs, fe.Message)
			} else {
				msgs = append(msgs, fmt.Sprintf("%s %s: %s", fe.Resource, fe.Field, fe.Code))
			}
		}
		e.Message = reply(strings.Join(msgs, "; "))
		e.Hint = r.hint(e.StatusCode)
		// Retry-After on a 403 is a secondary limit GitHub did not label;
		// 429 and 5xx are transient. ClassifyResponse knows the headers.
		return forge.Classified(e, status.ClassifyResponse(er.Response))
	case errors.As(err, new(*gh.AcceptedError)):
		e.StatusCode = http.StatusAccepted
		e.Message = "GitHub accepted the request for later processing"
		return status.Retryable(e, 0)
	}
	msg, cls := forge.Unreachable(err)
	e.Message = reply(msg)
	return forge.Classified(e, cls)
}
