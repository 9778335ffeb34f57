package gitea

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// Options configures a Reporter. BaseURL and Token (or an authenticating
// HTTPClient) are required; every other field has a default.
//
// The text fields take a status.Template (status.Interpolate) or a
// status.RenderFunc. They are rendered once per source stamp, with these
// keywords for %(kw:NAME)s: codebase, repository, branch, revision and
// project (of that source stamp), state (the Gitea state being set),
// result (once the build has finished) and number (the build number).
type Options struct {
	// BaseURL is the Gitea or Forgejo instance, with the sub-path it is
	// served under if any: https://gitea.example.com or
	// https://example.com/git/. /api/v1 is added.
	BaseURL string
	// Token is an access token with the write:repository scope, sent as
	// "Authorization: token …".
	Token status.Secret
	// HTTPClient sends the requests. Default: a client of the Reporter's
	// own, whose idle connections Close closes. A client that
	// authenticates by itself may stand in for Token.
	HTTPClient *http.Client

	// Repo is the repository, "owner/name". Default: the path of the
	// source stamp's repository URL (https://host/owner/name.git,
	// git@host:owner/name.git), less BaseURL's sub-path.
	Repo status.Renderer
	// Context tells this status from others on the commit. Default:
	// herald/<builder>.
	Context status.Renderer
	// Description is shown beside the status (cut to 255 characters).
	// Default: "Build #7 started.", then "Build #7 failed: <build text>" and
	// the like.
	Description status.Renderer
	// TargetURL is the status's link. Default: the build's URL (a Hub with
	// HubOptions.WebURL gives every build its page in the web status).
	TargetURL status.Renderer

	// States maps the result of a finished build to the state set.
	// Results it does not map take DefaultStates'.
	States States

	// Logger receives skipped statuses (debug) and New's warning about a
	// token sent over plain http to another machine.
	// Default: the logger of the Hub the reporter is added to (see
	// status.Logging), and slog.Default() until then.
	Logger *slog.Logger
}

// State is a commit status state as Gitea names it.
type State string

// The states of a commit status.
const (
	Pending State = "pending"
	Success State = "success"
	Warning State = "warning"
	Failure State = "failure"
	Error   State = "error"
)

// States maps build results to commit status states.
type States map[status.Result]State

// DefaultStates is Herald's table: success and skipped are success;
// warnings warning; failure failure; exception and cancelled error; retry
// pending, since another build of the same request follows.
func DefaultStates() States {
	return States{
		status.Success: Success, status.Skipped: Success, status.Warnings: Warning,
		status.Failure: Failure, status.Exception: Error, status.Cancelled: Error,
		status.Retry: Pending,
	}
}

// validate checks o, reporting every problem at once, fills in the
// defaults and returns the parsed base URL.
func (o *Options) validate() (*url.URL, error) {
	var errs []error
	var u *url.URL
	if o.BaseURL == "" {
		errs = append(errs, errors.New("gitea: Options.BaseURL is empty: set the instance's address, e.g. https://gitea.example.com"))
	} else {
		var err error
		if u, err = forge.ParseBaseURL("gitea", o.BaseURL, "https://gitea.example.com"); err != nil {
			errs = append(errs, err)
		}
	}
	if o.Token.IsZero() && o.HTTPClient == nil {
		errs = append(errs, errors.New("gitea: Options.Token is empty: set an access token with the write:repository scope, or pass an authenticating Options.HTTPClient"))
	}
	if err := forge.CheckSecret("gitea", "Token", o.Token.Reveal()); err != nil {
		errs = append(errs, err)
	}
	if err := forge.CheckStates("gitea: Options.States", o.States, Pending, Success, Warning, Failure, Error); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	o.States = forge.States(o.States, DefaultStates())
	forge.Default(&o.Context, status.MustInterpolate("herald/%(prop:buildername)s"))
	forge.Default(&o.Description, status.RenderFunc(func(b *status.Build) string { return b.Summary() }))
	forge.Default(&o.TargetURL, status.RenderFunc(func(b *status.Build) string { return b.URL }))
	if !o.Token.IsZero() {
		forge.WarnPlainHTTP(o.Logger, "gitea", u)
	}
	return u, nil
}
