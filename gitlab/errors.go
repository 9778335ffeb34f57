package gitlab

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// APIError is a status (or note) GitLab did not take: its Repo (the
// project), SHA, Context (the status's name), State, StatusCode (0 when no
// response came) and GitLab's Message (capped, with anything shaped like a
// credential removed). Errors from Report wrap it; read it with errors.As.
type APIError = forge.Error

var hints = forge.Hints{
	http.StatusUnauthorized: "check Options.Token (or Options.TokenSource): it is wrong, expired or revoked",
	http.StatusForbidden:    "the token may not set statuses here: it needs the api scope and at least the Developer role in the project",
	http.StatusNotFound:     "check the project (Options.Project, or the repository URL) and Options.BaseURL, and that the token can see the project",
	http.StatusBadRequest:   "GitLab refused the status",
}

// failed fills in e for an error of the client and classifies it:
// Retryable, with GitLab's wait, for rate limits, 5xx and network
// failures; permanent for the rest. Cancellation stays cancellation.
func (r *Reporter) failed(err error, resp *gl.Response, e *APIError) error {
	e.Err = err
	var er *gl.ErrorResponse
	switch {
	case errors.Is(err, context.Canceled):
		e.Message = "cancelled"
		return e
	case errors.As(err, &er) && resp != nil && resp.Response != nil:
		// The client read the body; Refused reads it again, scrubbed.
		answer := *resp.Response
		answer.Body = io.NopCloser(bytes.NewReader(er.Body))
		msg, cls := forge.Refused(&answer, r.secrets...)
		if msg == "" {
			msg = http.StatusText(answer.StatusCode)
		}
		e.StatusCode, e.Message, e.Hint = answer.StatusCode, msg, hints[answer.StatusCode]
		return forge.Classified(e, cls)
	}
	msg, cls := forge.Unreachable(err)
	e.Message = status.ReplyText([]byte(msg), r.secrets...)
	return forge.Classified(e, cls)
}
