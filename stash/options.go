package stash

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// Options configures a Reporter. BaseURL and one way to authenticate are
// required; every other field has a default.
//
// The text fields take a status.Template (status.Interpolate) or a
// status.RenderFunc. They are rendered once per source stamp, with these
// keywords for %(kw:NAME)s: codebase, repository, branch, revision and
// project (of that source stamp), state (the Bitbucket state being set),
// result (once the build has finished) and number (the build number).
type Options struct {
	// BaseURL is the server's address, with its context path if it has
	// one: https://bitbucket.example.com or https://example.com/bitbucket/.
	BaseURL string

	// Username and Password authenticate with HTTP Basic.
	Username string
	Password status.Secret
	// Token is a personal access token, sent as a Bearer token: the way
	// Bitbucket Server 5.5 and later recommend. Set it or Username and
	// Password, not both.
	Token status.Secret
	// HTTPClient sends the requests. Default: a client of the Reporter's
	// own, whose idle connections Close closes. A client that
	// authenticates by itself may stand in for the credentials.
	HTTPClient *http.Client

	// Key identifies the build plan on each commit; Bitbucket keeps one
	// status per commit and key. Default: the builder name. Keys longer
	// than 40 bytes are cut and end in a hash of the whole key, so they
	// stay distinct and the same key always shortens the same way.
	Key status.Renderer
	// Name is shown in Bitbucket's build list. Default: "<builder> #<number>".
	Name status.Renderer
	// Description is shown under the name. Default: "Build #7 started." at
	// the start, "Build #7 failed: <build text>" and the like at the end.
	Description status.Renderer
	// URL is the link of the status, which Bitbucket requires. Default: the
	// build's URL (a Hub with HubOptions.WebURL gives every build its page
	// in the web status); a build without one is reported with an error.
	URL status.Renderer

	// Comment, when set, also comments on the build's pull request when
	// it finishes: Buildbot's BitbucketServerPRCommentPush. The pull
	// request is the build property PullRequestProperty; builds without
	// it get no comment, nor do those for which Comment renders empty
	// (comment on failures only with a RenderFunc that returns "" for the
	// rest). CommentSummary is a ready one. Default: no comments.
	Comment status.Renderer

	// States maps the result of a finished build to the state posted.
	// Results it does not map take DefaultStates'. BuildbotStates is
	// Buildbot 0.8.12's table.
	States States

	// Logger receives skipped statuses (debug) and New's warning about
	// credentials sent over plain http to another machine.
	// Default: the logger of the Hub the reporter is added to (see
	// status.Logging), and slog.Default() until then.
	Logger *slog.Logger
}

// State is a build state as Bitbucket Server names it.
type State string

// The build states.
const (
	InProgress State = "INPROGRESS"
	Successful State = "SUCCESSFUL"
	Failed     State = "FAILED"
)

// States maps build results to build states.
type States map[status.Result]State

// DefaultStates is Herald's table: success, warnings and skipped are
// SUCCESSFUL; retry is INPROGRESS, since another build of the same request
// follows; failure, exception and cancelled are FAILED.
func DefaultStates() States {
	return States{
		status.Success: Successful, status.Warnings: Successful, status.Skipped: Successful,
		status.Retry: InProgress, status.Failure: Failed, status.Exception: Failed, status.Cancelled: Failed,
	}
}

// BuildbotStates is Buildbot 0.8.12's StashStatusPush table: only success
// is SUCCESSFUL, every other result FAILED.
func BuildbotStates() States {
	t := States{}
	for _, r := range status.AllResults() {
		t[r] = Failed
	}
	t[status.Success] = Successful
	return t
}

// validate checks o, reporting every problem at once, fills in the
// defaults and returns the parsed base URL.
func (o *Options) validate() (*url.URL, error) {
	var errs []error
	bad := func(msg string, args ...any) { errs = append(errs, fmt.Errorf("stash: "+msg, args...)) }
	var u *url.URL
	if o.BaseURL == "" {
		bad("Options.BaseURL is empty: set the server's address, e.g. https://bitbucket.example.com")
	} else {
		var err error
		u, err = url.Parse(o.BaseURL)
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			bad("Options.BaseURL %q is not an http(s) URL: want e.g. https://bitbucket.example.com/", o.BaseURL)
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			bad("Options.BaseURL must be a plain address, without user, query or fragment: set Options.Username and Options.Password for credentials")
		}
	}
	basic := o.Username != "" || !o.Password.IsZero()
	switch {
	case basic && !o.Token.IsZero():
		bad("both Options.Token and Options.Username/Password are set: use one (a token is preferred)")
	case o.Username != "" && o.Password.IsZero():
		bad("Options.Password is empty: set the password of Options.Username, or use Options.Token")
	case o.Username == "" && !o.Password.IsZero():
		bad("Options.Username is empty: set the user the password belongs to")
	case !basic && o.Token.IsZero() && o.HTTPClient == nil:
		bad("no credentials: set Options.Token (a personal access token) or Options.Username and Options.Password, or pass an authenticating Options.HTTPClient")
	}
	if err := forge.CheckSecret("stash", "Token", o.Token.Reveal()); err != nil {
		errs = append(errs, err)
	}
	if err := forge.CheckStates("stash: Options.States", o.States, InProgress, Successful, Failed); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	o.States = forge.States(o.States, DefaultStates())
	if o.Key == nil {
		o.Key = status.MustInterpolate("%(prop:buildername)s")
	}
	if o.Name == nil {
		o.Name = status.MustInterpolate("%(prop:buildername)s #%(prop:buildnumber)s")
	}
	if o.Description == nil {
		o.Description = status.RenderFunc(description)
	}
	if o.URL == nil {
		o.URL = status.RenderFunc(func(b *status.Build) string { return b.URL })
	}
	if basic || !o.Token.IsZero() {
		forge.WarnPlainHTTP(o.Logger, "stash", u)
	}
	return u, nil
}

func description(b *status.Build) string { return b.Summary() }
