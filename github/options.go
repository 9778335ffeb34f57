package github

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/heraldci/herald/status"
)

// Options configures a Reporter. Token or HTTPClient is required; every
// other field has a default.
//
// The text fields take a status.Template (status.Interpolate, for
// configurations carried over from Buildbot) or a status.TextFunc. They are
// rendered once per source stamp of the build, with these keywords for
// %(kw:NAME)s: codebase, repository, branch, revision and project (of that
// source stamp), state (the GitHub state being set), result (the build's
// result once it has finished, else "") and number (the build number).
type Options struct {
	// Token authenticates the requests (a personal access token, an OAuth
	// token or an App installation token), sent as a Bearer token.
	Token status.Secret
	// HTTPClient sends the requests. With a Token, its transport carries
	// the requests and the token is added to each; without one it must
	// authenticate by itself (a GitHub App installation transport, say).
	// Default: a client of this Reporter's own, whose idle connections
	// Close closes.
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
	RepoOwner, RepoName status.Text
	// SHA is the commit to set the status on. Default: the revision of each
	// source stamp, so a multi-codebase build sets one status per codebase
	// (for a build of one codebase that is %(src::revision)s).
	//
	// When RepoOwner, RepoName or SHA renders empty, that status is skipped
	// (and logged at debug level), as Buildbot did.
	SHA status.Text

	// Context tells this status from other systems' on the same commit.
	// Default: herald/<builder>.
	Context status.Text
	// StartDescription and EndDescription are the descriptions set when a
	// build starts and finishes (cut to 140 characters). Default: "Build #7
	// started." and "Build #7 succeeded." / "Build #7 failed: <build text>".
	StartDescription, EndDescription status.Text
	// TargetURL is the link of the status. Default: the build's URL.
	TargetURL status.Text

	// Warnings is the state set for builds that finished with warnings:
	// Success (the default) or Failure.
	Warnings State

	// Logger receives skipped statuses (debug). Default: slog.Default().
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

const defaultBaseURL = "https://api.github.com/"

// validate checks o and fills in the defaults.
func (o *Options) validate() error {
	if o.Token.IsZero() && o.HTTPClient == nil {
		return errors.New("github: Options.Token is empty and Options.HTTPClient is nil: " +
			"set a token (personal access or installation token) or pass an authenticating *http.Client")
	}
	if strings.ContainsAny(o.Token.Reveal(), " \t\r\n") {
		return errors.New("github: Options.Token contains white space: check how it was read (a trailing newline from a file?)")
	}
	for _, u := range []struct{ name, v string }{{"BaseURL", o.BaseURL}, {"UploadURL", o.UploadURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return fmt.Errorf("github: Options.%s %q is not an http(s) URL: want e.g. https://github.example.com/api/v3/", u.name, u.v)
		}
		if p.User != nil {
			return fmt.Errorf("github: Options.%s must not carry credentials: set Options.Token", u.name)
		}
	}
	switch o.Warnings {
	case "":
		o.Warnings = Success
	case Success, Failure:
	default:
		return fmt.Errorf("github: Options.Warnings is %q: want github.Success or github.Failure", o.Warnings)
	}
	if o.Context == nil {
		o.Context = status.MustInterpolate("herald/%(prop:buildername)s")
	}
	if o.StartDescription == nil {
		o.StartDescription = status.TextFunc(startDescription)
	}
	if o.EndDescription == nil {
		o.EndDescription = status.TextFunc(endDescription)
	}
	if o.TargetURL == nil {
		o.TargetURL = status.TextFunc(func(b *status.Build) string { return b.URL })
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
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
