package stash

import (
	"net/http"

	"github.com/heraldci/herald/internal/forge"
)

// APIError is a build status Bitbucket did not take: its SHA, Context (the
// key), State, StatusCode (0 when no response came) and Bitbucket's Message
// (capped, with anything shaped like a credential removed). Errors from
// Report wrap it; read it with errors.As.
type APIError = forge.Error

var hints = forge.Hints{
	http.StatusUnauthorized: "check Options.Username and Options.Password, or Options.Token",
	http.StatusForbidden:    "the user may not post build statuses: it needs a licence and read access to the repository",
	http.StatusNotFound:     "check Options.BaseURL, including the server's context path (such as /bitbucket)",
	http.StatusBadRequest:   "Bitbucket refused the status",
}
