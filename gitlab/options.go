package gitlab

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// Options configures a Reporter. Token or TokenSource is required; every
// other field has a default.
//
// The text fields take a status.Template (status.Interpolate) or a
// status.RenderFunc. They are rendered once per source stamp, with these
// keywords for %(kw:NAME)s: codebase, repository, branch, revision and
// project (of that source stamp), state (the GitLab state being set),
// result (once the build has finished) and number (the build number).
type Options struct {
	// BaseURL is the GitLab instance, such as https://gitlab.example.com
	// or https://example.com/gitlab (/api/v4/ is added). Default:
	// https://gitlab.com.
	BaseURL string
	// Token is a personal, project or group access token with the api
	// scope, sent as PRIVATE-TOKEN.
	Token status.Secret
	// TokenSource gives an OAuth2 token for each request instead (sent as
	// Bearer): tokens that rotate. Set Token or TokenSource, not both.
	TokenSource oauth2.TokenSource
	// HTTPClient carries the requests; the token is added to each.
	// Default: a client of the Reporter's own, whose idle connections
	// Close closes.
	HTTPClient *http.Client

	// Project is the project's numeric ID or its path with namespace
	// (group/subgroup/name). Default: the path of the source stamp's
	// repository URL (https://host/group/name.git, git@host:group/name.git),
	// less BaseURL's path for an instance under a sub-path.
	Project status.Renderer
	// Ref is the branch or tag the status belongs to. Default: the build
	// property source_branch (set for merge requests by the hooks
	// package) or the source stamp's branch, without refs/heads/. When it
	// renders empty no ref is sent, and GitLab uses the commit's.
	Ref status.Renderer
	// Name tells this status from others on the commit. Default:
	// herald/<builder>.
	Name status.Renderer
	// Description is shown beside the status (cut to 255 characters).
	// Default: "Build #7 started.", then "Build #7 failed: <build text>" and
	// the like.
	Description status.Renderer
	// TargetURL is the status's link. Default: the build's URL (a Hub with
	// HubOptions.WebURL gives every build its page in the web status).
	TargetURL status.Renderer

	// Note, when set, also leaves a note on the build's merge request
	// when it finishes. The merge request is the build property
	// MergeRequestProperty (or "merge_request.iid", as the hooks package
	// sets it on changes), in the status's project; builds without it get
	// no note, nor do those for which Note renders empty. NoteOnFailure is
	// a ready one. Default: no notes.
	Note status.Renderer

	// States maps the result of a finished build to the state set.
	// Results it does not map take DefaultStates'.
	States States

	// Logger receives skipped statuses (debug).
	// Default: the logger of the Hub the reporter is added to (see
	// status.Logging), and slog.Default() until then.
	Logger *slog.Logger
}

// State is a commit status state as GitLab names it.
type State string

// The states of a commit status.
const (
	Pending  State = "pending"
	Running  State = "running"
	Success  State = "success"
	Failed   State = "failed"
	Canceled State = "canceled"
	Skipped  State = "skipped"
)

// States maps build results to commit status states.
type States map[status.Result]State

// DefaultStates is Herald's table, the same as current Buildbot's
// GitLabStatusPush: success, warnings and skipped are success; failure and
// exception failed; cancelled canceled; retry pending, since another build
// of the same request follows.
func DefaultStates() States {
	return States{
		status.Success: Success, status.Warnings: Success, status.Skipped: Success,
		status.Failure: Failed, status.Exception: Failed, status.Cancelled: Canceled,
		status.Retry: Pending,
	}
}

const defaultBaseURL = "https://gitlab.com"

// validate checks o, reporting every problem at once, and fills in the
// defaults.
func (o *Options) validate() error {
	var errs []error
	if o.BaseURL == "" {
		o.BaseURL = defaultBaseURL
	}
	if _, err := forge.ParseBaseURL("gitlab", o.BaseURL, "https://gitlab.example.com"); err != nil {
		errs = append(errs, err)
	}
	switch {
	case o.Token.IsZero() && o.TokenSource == nil:
		errs = append(errs, errors.New("gitlab: Options.Token and Options.TokenSource are both unset: set an access token with the api scope, or an OAuth2 token source"))
	case !o.Token.IsZero() && o.TokenSource != nil:
		errs = append(errs, errors.New("gitlab: Options.Token and Options.TokenSource are both set: use one"))
	}
	if err := forge.CheckSecret("gitlab", "Token", o.Token.Reveal()); err != nil {
		errs = append(errs, err)
	}
	if err := forge.CheckStates("gitlab: Options.States", o.States, Pending, Running, Success, Failed, Canceled, Skipped); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	o.States = forge.States(o.States, DefaultStates())
	forge.Default(&o.Name, status.MustInterpolate("herald/%(prop:buildername)s"))
	forge.Default(&o.Ref, status.RenderFunc(defaultRef))
	forge.Default(&o.Description, status.RenderFunc(func(b *status.Build) string { return b.Summary() }))
	forge.Default(&o.TargetURL, status.RenderFunc(func(b *status.Build) string { return b.URL }))
	return nil
}

// defaultRef is the source branch of a merge request build, else the
// branch of the build's default source stamp.
func defaultRef(b *status.Build) string {
	if s, ok := property(b, b.Source(""), "source_branch").(string); ok && s != "" {
		return s
	}
	if s := b.Source(""); s != nil {
		return strings.TrimPrefix(s.Branch, "refs/heads/")
	}
	return ""
}

// property is the build property name, else the one of the newest change
// of s that has it (hosts copy change properties into builds or not).
func property(b *status.Build, s *status.SourceStamp, name string) any {
	if v, ok := b.Properties[name]; ok {
		return v
	}
	if s != nil {
		for i := len(s.Changes) - 1; i >= 0; i-- {
			if v, ok := s.Changes[i].Properties[name]; ok {
				return v
			}
		}
	}
	return nil
}
