package github

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// Options configures a Reporter. Token, TokenSource or HTTPClient is
// required; every other field has a default.
//
// The text fields take a status.Template (status.Interpolate, for
// configurations carried over from Buildbot) or a status.RenderFunc. They are
// rendered once per source stamp of the build, with these keywords for
// %(kw:NAME)s: codebase, repository, branch, revision and project (of that
// source stamp), state (the GitHub state being set), result (the build's
// result once it has finished, else "") and number (the build number).
type Options struct {
	// Token authenticates the requests (a personal access token, an OAuth
	// token or an App installation token), sent as a Bearer token.
	Token status.Secret
	// TokenSource gives the token of each request instead: tokens that
	// rotate, such as a GitHub App's installation tokens (which expire
	// after an hour). Wrap it in oauth2.ReuseTokenSource so a token is
	// fetched only when the last one expired. Set Token or TokenSource,
	// not both.
	TokenSource oauth2.TokenSource
	// HTTPClient sends the requests. With a Token or TokenSource, its
	// transport carries the requests and the token is added to each;
	// without either it must authenticate by itself. Default: a client of
	// this Reporter's own, whose idle connections Close closes.
	HTTPClient *http.Client

	// BaseURL is the REST API root of GitHub Enterprise Server, such as
	// https://github.example.com/api/v3/; a bare host gets /api/v3/
	// appended. Default: https://api.github.com/.
	BaseURL string
	// UploadURL is the upload root of GitHub Enterprise Server. Default:
	// derived from BaseURL. Statuses never upload; it is here so one
	// Enterprise configuration fits every go-github client.
	UploadURL string

	// RepoOwner and RepoName name the repository. Default: parsed from the
	// source stamp's repository URL (https://host/owner/name.git,
	// ssh://git@host/owner/name, git@host:owner/name.git).
	RepoOwner, RepoName status.Renderer
	// SHA is the commit to set the status on. Default: the revision of each
	// source stamp, so a multi-codebase build sets one status per codebase
	// (for a build of one codebase that is %(src::revision)s). An
	// abbreviated SHA is resolved to the full one through the API (the
	// token then needs read access to the contents); one GitHub does not
	// know is an error, never sent as a commit.
	//
	// When RepoOwner, RepoName or SHA renders empty, or SHA is no commit
	// hash (a Subversion number, a branch name), that status is skipped
	// (and logged at debug level), as Buildbot did.
	SHA status.Renderer

	// Context tells this status from other systems' on the same commit.
	// Default: herald/<builder>. Buildbot 0.8.12 sent none, which GitHub
	// shows as "default": set status.MustInterpolate(BuildbotContext) to
	// keep branch-protection rules written for it.
	Context status.Renderer
	// StartDescription and EndDescription are the descriptions set when a
	// build starts and finishes (cut to 140 characters); with Checks, the
	// titles of its check run. Default: "Build #7
	// started." and "Build #7 succeeded." / "Build #7 failed: <build text>".
	StartDescription, EndDescription status.Renderer
	// TargetURL is the link of the status. Default: the build's URL (a Hub
	// with HubOptions.WebURL gives every build its page in the web status).
	TargetURL status.Renderer

	// Comment, when set, also comments on the build's pull request when
	// it finishes: Buildbot's GitHubCommentPush. The pull request is named
	// by a source stamp's branch (refs/pull/N/head or /merge) or the build
	// property PullRequestProperty; builds of no pull request get no
	// comment, nor do those for which Comment renders empty (comment on
	// failures only with a RenderFunc that returns "" for the rest).
	// CommentSummary is a ready one. Default: no comments.
	Comment status.Renderer

	// States maps the result of a finished build to the state set.
	// Results it does not map take DefaultStates'. BuildbotStates is
	// Buildbot 0.8.12's table.
	States States

	// Checks reports builds as check runs (the Checks API) instead of
	// commit statuses: a run named Context per commit and build, created
	// in_progress when the build starts and completed with the conclusion
	// Conclusions maps its result to when it finishes; its output holds the
	// title (StartDescription, EndDescription), a Markdown summary of the
	// steps and blamelist, the failing step's log tail and annotations for
	// log lines that name file:line. Only GitHub App installation tokens
	// may write check runs (give TokenSource, or an installation token as
	// Token); personal access tokens get 403.
	Checks bool
	// Conclusions maps the result of a finished build to the conclusion of
	// its check run. Results it does not map take DefaultConclusions'.
	Conclusions Conclusions
	// History gives the logs of a finished build's steps to check runs:
	// the last LogLines lines of the first failing step's log become the
	// output's text, and every line of a failing or warning step's log
	// naming file:line or file:line:col (as Go, gcc, eslint's unix format
	// print them) an annotation. Default: none; check runs then carry no
	// text and no annotations.
	History status.History
	// LogLines is how many lines of the failing step's log the text shows.
	// Default 30.
	LogLines int
	// Checkout is the directory of the checkout on the worker (such as
	// %(prop:builddir)s/build): absolute paths under it in log lines are
	// annotated relative to it. Default: none. Absolute paths outside it
	// are never annotated, nor are paths that leave the checkout (../).
	Checkout status.Renderer

	// Logger receives skipped statuses (debug).
	// Default: the logger of the Hub the reporter is added to (see
	// status.Logging), and slog.Default() until then.
	Logger *slog.Logger
}

// State is a commit status state as the GitHub API names it.
type State string

// The states of a commit status.
const (
	Pending State = "pending"
	Success State = "success"
	Failure State = "failure"
	Error   State = "error"
)

// States maps build results to commit status states.
type States map[status.Result]State

// DefaultStates is Herald's table: success, warnings and skipped are
// success; failure is failure; exception and cancelled are error; retry is
// pending, since another build of the same request follows.
func DefaultStates() States {
	return States{
		status.Success: Success, status.Warnings: Success, status.Skipped: Success,
		status.Failure: Failure, status.Exception: Error, status.Cancelled: Error,
		status.Retry: Pending,
	}
}

// BuildbotStates is Buildbot 0.8.12's GitHubStatus table: only success is
// success, failure is failure, every other result is error.
func BuildbotStates() States {
	t := States{}
	for _, r := range status.AllResults() {
		t[r] = Error
	}
	t[status.Success], t[status.Failure] = Success, Failure
	return t
}

// Conclusion is the conclusion of a completed check run.
type Conclusion string

// The conclusions of a check run.
const (
	ConclusionSuccess        Conclusion = "success"
	ConclusionFailure        Conclusion = "failure"
	ConclusionNeutral        Conclusion = "neutral"
	ConclusionCancelled      Conclusion = "cancelled"
	ConclusionSkipped        Conclusion = "skipped"
	ConclusionTimedOut       Conclusion = "timed_out"
	ConclusionActionRequired Conclusion = "action_required"
)

// Conclusions maps build results to check-run conclusions.
type Conclusions map[status.Result]Conclusion

// DefaultConclusions is the table of check runs: success and warnings are
// success (the warnings show as annotations); failure and exception are
// failure; skipped is skipped, cancelled cancelled; retry is neutral, since
// another build of the same request follows.
func DefaultConclusions() Conclusions {
	return Conclusions{
		status.Success: ConclusionSuccess, status.Warnings: ConclusionSuccess,
		status.Failure: ConclusionFailure, status.Exception: ConclusionFailure,
		status.Skipped: ConclusionSkipped, status.Cancelled: ConclusionCancelled,
		status.Retry: ConclusionNeutral,
	}
}

// BuildbotContext is the context GitHub shows for statuses set without one,
// as Buildbot 0.8.12 set them.
const BuildbotContext = "default"

const defaultBaseURL = "https://api.github.com/"

// defaultLogLines is how many lines of the failing step's log a check run
// shows by default.
const defaultLogLines = 30

// validate checks o, reporting every problem at once, and fills in the
// defaults.
func (o *Options) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("github: "+format, args...)) }
	switch {
	case o.Token.IsZero() && o.TokenSource == nil && o.HTTPClient == nil:
		bad("Options.Token, Options.TokenSource and Options.HTTPClient are all unset: " +
			"set a token (personal access or installation token), a token source (GitHub App), or pass an authenticating *http.Client")
	case !o.Token.IsZero() && o.TokenSource != nil:
		bad("Options.Token and Options.TokenSource are both set: use one")
	}
	if strings.ContainsAny(o.Token.Reveal(), " \t\r\n") {
		bad("Options.Token contains white space: check how it was read (a trailing newline from a file?)")
	}
	for _, u := range []struct{ name, v string }{{"BaseURL", o.BaseURL}, {"UploadURL", o.UploadURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		switch {
		case err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "":
			bad("Options.%s %q is not an http(s) URL: want e.g. https://github.example.com/api/v3/", u.name, u.v)
		case p.User != nil:
			bad("Options.%s must not carry credentials: set Options.Token", u.name)
		}
	}
	if err := forge.CheckStates("github: Options.States", o.States, Pending, Success, Failure, Error); err != nil {
		errs = append(errs, err)
	}
	if err := forge.CheckStates("github: Options.Conclusions", o.Conclusions, ConclusionSuccess, ConclusionFailure,
		ConclusionNeutral, ConclusionCancelled, ConclusionSkipped, ConclusionTimedOut, ConclusionActionRequired); err != nil {
		errs = append(errs, err)
	}
	if o.LogLines < 0 {
		bad("Options.LogLines is %d: set a positive number of lines, or 0 for the default (%d)", o.LogLines, defaultLogLines)
	}
	if o.Checks && o.States != nil {
		bad("Options.States maps results to commit statuses, which Options.Checks replaces by check runs: set Options.Conclusions")
	}
	if !o.Checks {
		for _, f := range []struct {
			name string
			set  bool
		}{{"Conclusions", o.Conclusions != nil}, {"History", o.History != nil}, {"LogLines", o.LogLines != 0}, {"Checkout", o.Checkout != nil}} {
			if f.set {
				bad("Options.%s is set but Options.Checks is not: it applies to check runs only; set Options.Checks", f.name)
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	o.States = forge.States(o.States, DefaultStates())
	o.Conclusions = forge.States(o.Conclusions, DefaultConclusions())
	if o.LogLines == 0 {
		o.LogLines = defaultLogLines
	}
	if o.Context == nil {
		o.Context = status.MustInterpolate("herald/%(prop:buildername)s")
	}
	if o.StartDescription == nil {
		o.StartDescription = status.RenderFunc(startDescription)
	}
	if o.EndDescription == nil {
		o.EndDescription = status.RenderFunc(endDescription)
	}
	if o.TargetURL == nil {
		o.TargetURL = status.RenderFunc(func(b *status.Build) string { return b.URL })
	}
	return nil
}

// startDescription and endDescription are the default descriptions; the
// end one is the build's one-sentence summary of how it ended.
func startDescription(b *status.Build) string {
	return fmt.Sprintf("Build #%d started.", b.Number)
}

func endDescription(b *status.Build) string {
	if !b.Done() { // a status rendered for a build whose event says finished
		nb := *b
		nb.Finished = nb.Started
		return nb.Summary()
	}
	return b.Summary()
}
