package bitbucket

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// Options configures a Reporter. One way to authenticate is required;
// every other field has a default.
//
// The text fields take a status.Template (status.Interpolate) or a
// status.RenderFunc. They are rendered once per source stamp, with these
// keywords for %(kw:NAME)s: codebase, repository, branch, revision and
// project (of that source stamp), state (the Bitbucket state being set),
// result (once the build has finished) and number (the build number).
type Options struct {
	// BaseURL is the API's address. Default: https://api.bitbucket.org;
	// /2.0 is added.
	BaseURL string

	// Username and Password authenticate with HTTP Basic: a Bitbucket
	// user and an app password with the repository:write scope (or an
	// Atlassian account's email and an API token).
	Username string
	Password status.Secret
	// Token is a repository, project or workspace access token, sent as
	// Bearer. Set it or Username and Password, not both.
	Token status.Secret
	// HTTPClient sends the requests. Default: a client of the Reporter's
	// own, whose idle connections Close closes. A client that
	// authenticates by itself may stand in for the credentials.
	HTTPClient *http.Client

	// Repo is the repository, "workspace/repo_slug". Default: the path of
	// the source stamp's repository URL (https://bitbucket.org/ws/repo.git,
	// git@bitbucket.org:ws/repo.git).
	Repo status.Renderer
	// Key identifies the build on each commit; Bitbucket keeps one status
	// per commit and key. Default: the builder name. Keys over 40
	// characters are cut and end in a hash of the whole key.
	Key status.Renderer
	// Name is shown in Bitbucket's build list. Default: "<builder> #<number>".
	Name status.Renderer
	// Description is shown under the name. Default: "Build #7 started." at
	// the start, "Build #7 failed: <build text>" and the like at the end.
	Description status.Renderer
	// URL is the status's link, which Bitbucket requires. Default: the
	// build's URL (a Hub with HubOptions.WebURL gives every build its page
	// in the web status); a build without one is reported with an error.
	URL status.Renderer

	// States maps the result of a finished build to the state posted.
	// Results it does not map take DefaultStates'.
	States States

	// Logger receives skipped statuses (debug) and New's warning about
	// credentials sent over plain http to another machine.
	// Default: the logger of the Hub the reporter is added to (see
	// status.Logging), and slog.Default() until then.
	Logger *slog.Logger
}

// State is a build state as Bitbucket Cloud names it.
type State string

// The build states.
const (
	InProgress State = "INPROGRESS"
	Successful State = "SUCCESSFUL"
	Failed     State = "FAILED"
	Stopped    State = "STOPPED"
)

// States maps build results to build states.
type States map[status.Result]State

// DefaultStates is Herald's table: success, warnings and skipped are
// SUCCESSFUL; failure and exception FAILED; cancelled STOPPED; retry
// INPROGRESS, since another build of the same request follows.
func DefaultStates() States {
	return States{
		status.Success: Successful, status.Warnings: Successful, status.Skipped: Successful,
		status.Failure: Failed, status.Exception: Failed, status.Cancelled: Stopped,
		status.Retry: InProgress,
	}
}

const defaultBaseURL = "https://api.bitbucket.org"

// validate checks o, reporting every problem at once, fills in the
// defaults and returns the parsed base URL.
func (o *Options) validate() (*url.URL, error) {
	var errs []error
	bad := func(msg string) { errs = append(errs, errors.New("bitbucket: "+msg)) }
	if o.BaseURL == "" {
		o.BaseURL = defaultBaseURL
	}
	u, err := forge.ParseBaseURL("bitbucket", o.BaseURL, defaultBaseURL)
	if err != nil {
		errs = append(errs, err)
	}
	basic := o.Username != "" || !o.Password.IsZero()
	switch {
	case basic && !o.Token.IsZero():
		bad("both Options.Token and Options.Username/Password are set: use one")
	case o.Username != "" && o.Password.IsZero():
		bad("Options.Password is empty: set the app password (or API token) of Options.Username")
	case o.Username == "" && !o.Password.IsZero():
		bad("Options.Username is empty: set the user the app password belongs to")
	case !basic && o.Token.IsZero() && o.HTTPClient == nil:
		bad("no credentials: set Options.Username and Options.Password (an app password), or Options.Token (an access token), or pass an authenticating Options.HTTPClient")
	}
	for _, s := range []struct{ field, v string }{{"Password", o.Password.Reveal()}, {"Token", o.Token.Reveal()}} {
		if err := forge.CheckSecret("bitbucket", s.field, s.v); err != nil {
			errs = append(errs, err)
		}
	}
	if err := forge.CheckStates("bitbucket: Options.States", o.States, InProgress, Successful, Failed, Stopped); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	o.States = forge.States(o.States, DefaultStates())
	forge.Default(&o.Key, status.MustInterpolate("%(prop:buildername)s"))
	forge.Default(&o.Name, status.MustInterpolate("%(prop:buildername)s #%(prop:buildnumber)s"))
	forge.Default(&o.Description, status.RenderFunc(func(b *status.Build) string { return b.Summary() }))
	forge.Default(&o.URL, status.RenderFunc(func(b *status.Build) string { return b.URL }))
	if basic || !o.Token.IsZero() {
		forge.WarnPlainHTTP(o.Logger, "bitbucket", u)
	}
	return u, nil
}
