package hooks

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-github/v60/github"

	"github.com/heraldci/herald/status"
)

// GitHub is the github dialect: push, pull_request and ping events, sent as
// application/json or as a form with a payload= field.
//
// Pass it by pointer and leave its fields alone once New has it.
type GitHub struct {
	// Secret is the webhook secret. When set, a signed request must carry a
	// valid X-Hub-Signature-256 (or, from older senders, X-Hub-Signature).
	Secret status.Secret
	// Strict rejects unsigned requests; it requires Secret. Without Strict
	// an unsigned request is accepted, as in Buildbot: use Auth then.
	Strict bool
	// Codebase is set on every change. CodebaseFunc, when set, wins: it gets
	// the event name and the JSON payload (valid only during the call).
	Codebase     string
	CodebaseFunc func(event string, payload []byte) string

	// OnlyDistinct makes changes of a push's distinct commits only. By
	// default every listed commit is a change, as in current Buildbot, with
	// the property github_distinct: a commit already pushed to a feature
	// branch and then fast-forwarded to main still builds main.
	OnlyDistinct bool
	// SkipPatterns are regular expressions (Go syntax); a push whose head
	// commit message, or a pull request whose title or body, matches one
	// makes no change. Default Buildbot's: \[ *skip *ci *\] and
	// \[ *ci *skip *\]. NoSkip turns skipping off.
	SkipPatterns []string
	NoSkip       bool
	// RepositoryURL is the URL changes carry as their repository: "html"
	// (default, as Buildbot: https://github.com/OWNER/NAME) or "clone"
	// (https://github.com/OWNER/NAME.git).
	RepositoryURL string

	// PullRequestActions are the pull_request actions that make a change;
	// default opened, reopened, synchronize and edited (edited only when the
	// base branch changed), as Buildbot. Add "closed" to build merges.
	PullRequestActions []string
	// PullRequestRef is the ref a pull request change builds: "merge"
	// (default: refs/pull/N/merge, the head merged into the base) or "head"
	// (refs/pull/N/head, the head as pushed).
	PullRequestRef string
	// Token, when set, is used to list a pull request's changed files
	// through the GitHub API, so that file-based schedulers work (the event
	// does not carry them). A failure to list them answers 500, so the
	// delivery can be repeated.
	Token status.Secret
	// APIURL is the API root for Token; default https://api.github.com/.
	// GitHub Enterprise Server: https://HOST/api/v3/.
	APIURL string

	// Events handle more event types (Buildbot's class option), by
	// X-GitHub-Event name; they win over the built-in ping, push and
	// pull_request handlers. The payload is valid only during the call.
	Events map[string]func(r *Request, payload []byte) ([]status.Change, error)

	init     sync.Once
	setupErr error
	sha256   *signer
	sha1     *signer
	actions  []string
	skips    []*regexp.Regexp
	api      *github.Client
}

// DefaultSkipPatterns are Buildbot's skip patterns: "[ci skip]" and
// "[skip ci]", spaces allowed inside the brackets.
var DefaultSkipPatterns = []string{`\[ *skip *ci *\]`, `\[ *ci *skip *\]`}

var _ Dialect = (*GitHub)(nil)

// Name returns "github".
func (g *GitHub) Name() string { return "github" }

func (g *GitHub) validate() error {
	g.setup()
	return g.setupErr
}

func (g *GitHub) setup() {
	g.init.Do(func() {
		var errs []error
		if g.Strict && g.Secret.IsZero() {
			errs = append(errs, errors.New("hooks: GitHub.Strict is set but GitHub.Secret is empty: set the webhook secret"))
		}
		if !g.Secret.IsZero() {
			g.sha256 = newSigner(sha256.New, g.Secret.Reveal())
			g.sha1 = newSigner(sha1.New, g.Secret.Reveal())
		}
		g.actions = g.PullRequestActions
		if len(g.actions) == 0 {
			g.actions = []string{"opened", "reopened", "synchronize", "edited"}
		}
		patterns := g.SkipPatterns
		if patterns == nil {
			patterns = DefaultSkipPatterns
		}
		if !g.NoSkip {
			for _, p := range patterns {
				re, err := regexp.Compile(p)
				if err != nil {
					errs = append(errs, fmt.Errorf("hooks: GitHub.SkipPatterns: %v", err))
					continue
				}
				g.skips = append(g.skips, re)
			}
		}
		switch g.RepositoryURL {
		case "", "html", "clone":
		default:
			errs = append(errs, fmt.Errorf("hooks: GitHub.RepositoryURL is %q: use \"html\" (default) or \"clone\"", g.RepositoryURL))
		}
		switch g.PullRequestRef {
		case "", "merge", "head":
		default:
			errs = append(errs, fmt.Errorf("hooks: GitHub.PullRequestRef is %q: use \"merge\" (default) or \"head\"", g.PullRequestRef))
		}
		if !g.Token.IsZero() {
			g.api = github.NewClient(nil).WithAuthToken(g.Token.Reveal())
			if g.APIURL != "" {
				u, err := url.Parse(g.APIURL)
				if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					errs = append(errs, fmt.Errorf("hooks: GitHub.APIURL %q is not an http(s) URL: use e.g. https://github.example.com/api/v3/", g.APIURL))
				} else {
					if !strings.HasSuffix(u.Path, "/") {
						u.Path += "/"
					}
					g.api.BaseURL = u
				}
			}
		} else if g.APIURL != "" {
			errs = append(errs, errors.New("hooks: GitHub.APIURL is set but GitHub.Token is empty: set the token the API is read with"))
		}
		g.setupErr = errors.Join(errs...)
	})
}

// skipped returns the skip pattern text matches, or "".
func (g *GitHub) skipped(texts ...string) string {
	for _, re := range g.skips {
		for _, t := range texts {
			if re.MatchString(t) {
				return re.String()
			}
		}
	}
	return ""
}

// repoURL picks the repository URL the options ask for.
func (g *GitHub) repoURL(clone, html, fallback string) string {
	if g.RepositoryURL == "clone" && clone != "" {
		return clone
	}
	if html != "" {
		return html
	}
	if fallback != "" {
		return fallback
	}
	return clone
}

// Parse checks the signature, then decodes the event.
func (g *GitHub) Parse(r *Request) ([]status.Change, error) {
	g.setup()
	if g.setupErr != nil {
		return nil, g.setupErr
	}
	mt, err := r.RequireMediaType("application/json", "application/x-www-form-urlencoded")
	if err != nil {
		return nil, err
	}
	if err := g.verify(r); err != nil {
		return nil, err
	}
	event := r.HTTP.Header.Get("X-GitHub-Event")
	if event == "" {
		return nil, Reject(http.StatusBadRequest, "missing X-GitHub-Event header")
	}
	payload := r.Payload
	if mt == "application/x-www-form-urlencoded" {
		if payload, err = formPayload(r.Payload); err != nil {
			return nil, err
		}
	}
	var changes []status.Change
	switch h := g.Events[event]; {
	case h != nil:
		changes, err = h(r, payload)
	case event == "ping":
		return nil, Ignored("ping")
	case event == "push":
		changes, err = g.push(payload)
	case event == "pull_request":
		changes, err = g.pullRequest(r.HTTP.Context(), payload)
	default:
		return nil, Ignored("event %q is not handled", event)
	}
	if err != nil || len(changes) == 0 {
		return nil, err
	}
	codebase := g.Codebase
	if g.CodebaseFunc != nil {
		codebase = g.CodebaseFunc(event, payload)
	}
	project := r.Query().Get("project")
	for i := range changes {
		if codebase != "" {
			changes[i].Codebase = codebase
		}
		if project != "" {
			changes[i].Project = project
		}
	}
	return changes, nil
}

// checkHeaders checks the content type, and that a signature is present
// when Strict, before the body is read.
func (g *GitHub) checkHeaders(r *http.Request) error {
	g.setup()
	if _, err := (&Request{HTTP: r}).RequireMediaType("application/json", "application/x-www-form-urlencoded"); err != nil {
		return err
	}
	if g.Strict && r.Header.Get("X-Hub-Signature-256") == "" && r.Header.Get("X-Hub-Signature") == "" {
		return Reject(http.StatusForbidden, "unsigned request: configure the webhook secret on GitHub")
	}
	return nil
}

// verify checks the body's signature before anything decodes it. The
// sha256 header wins when both are sent.
func (g *GitHub) verify(r *Request) error {
	sig256 := r.HTTP.Header.Get("X-Hub-Signature-256")
	sig1 := r.HTTP.Header.Get("X-Hub-Signature")
	switch {
	case g.sha256 == nil:
		return nil // no secret: nothing to check against
	case sig256 != "":
		return hubSignature(g.sha256, r.Payload, sig256, "X-Hub-Signature-256", "sha256")
	case sig1 != "":
		return hubSignature(g.sha1, r.Payload, sig1, "X-Hub-Signature", "sha1")
	case g.Strict:
		return Reject(http.StatusForbidden, "unsigned request: configure the webhook secret on GitHub")
	}
	return nil
}

// formPayload extracts the payload= field of a form body.
func formPayload(body []byte) ([]byte, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badPayload("malformed form: %v", err)
	}
	p := form.Get("payload")
	if p == "" {
		return nil, badPayload("form has no payload field")
	}
	return []byte(p), nil
}

type githubPullRequestEvent struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest struct {
		Title     string       `json:"title"`
		Body      string       `json:"body"`
		HTMLURL   string       `json:"html_url"`
		State     string       `json:"state"`
		CreatedAt string       `json:"created_at"`
		UpdatedAt string       `json:"updated_at"`
		ClosedAt  string       `json:"closed_at"`
		MergedAt  string       `json:"merged_at"`
		Merged    bool         `json:"merged"`
		Commits   int          `json:"commits"`
		Draft     bool         `json:"draft"`
		User      githubUser   `json:"user"`
		Head      githubPRSide `json:"head"`
		Base      githubPRSide `json:"base"`
	} `json:"pull_request"`
	Changes struct {
		Base *struct{} `json:"base"` // set when an edit changed the base
	} `json:"changes"`
	Repository githubRepo `json:"repository"`
	Sender     githubUser `json:"sender"`
}

type githubUser struct {
	Login string `json:"login"`
}

type githubPRSide struct {
	Ref  string      `json:"ref"`
	SHA  string      `json:"sha"`
	Repo *githubRepo `json:"repo"` // null when the fork was deleted
}

// pullRequest makes one change for the head of an opened or updated pull
// request, on refs/pull/N/merge (or /head), with the properties Buildbot
// gives schedulers: github.* for the pull request, its head and base.
func (g *GitHub) pullRequest(ctx context.Context, payload []byte) ([]status.Change, error) {
	var e githubPullRequestEvent
	if err := decodeJSON(payload, &e); err != nil {
		return nil, badPayload("pull_request: %v", err)
	}
	if !slices.Contains(g.actions, e.Action) {
		return nil, Ignored("pull request #%d %s", e.Number, e.Action)
	}
	if e.Action == "edited" && e.Changes.Base == nil {
		return nil, Ignored("pull request #%d edited without a new base", e.Number)
	}
	pr := &e.PullRequest
	if e.Number <= 0 || pr.Head.SHA == "" {
		return nil, badPayload("pull_request: missing number or head sha")
	}
	if p := g.skipped(pr.Title, pr.Body); p != "" {
		return nil, Ignored("pull request #%d matches skip pattern %s", e.Number, p)
	}
	stamp := pr.UpdatedAt
	if stamp == "" {
		stamp = pr.CreatedAt
	}
	when, err := parseDate("pull_request.updated_at", stamp)
	if err != nil {
		return nil, err
	}
	plural := "s"
	if pr.Commits == 1 {
		plural = ""
	}
	comments := "GitHub Pull Request #" + strconv.Itoa(e.Number) + " (" + strconv.Itoa(pr.Commits) + " commit" + plural + ")\n" + pr.Title
	if pr.Body != "" {
		comments += "\n\n" + pr.Body
	}
	props := map[string]any{
		"event":            "pull_request",
		"basename":         pr.Base.Ref,
		"github.action":    e.Action,
		"github.number":    e.Number,
		"github.title":     pr.Title,
		"github.html_url":  pr.HTMLURL,
		"github.state":     pr.State,
		"github.draft":     pr.Draft,
		"github.merged":    pr.Merged,
		"github.merged_at": pr.MergedAt,
		"github.closed_at": pr.ClosedAt,
		"github.user":      pr.User.Login,
	}
	for side, ref := range map[string]*githubPRSide{"head": &pr.Head, "base": &pr.Base} {
		props["github."+side+".ref"] = ref.Ref
		props["github."+side+".sha"] = ref.SHA
		var repo githubRepo
		if ref.Repo != nil {
			repo = *ref.Repo
		}
		props["github."+side+".repo.full_name"] = repo.FullName
		props["github."+side+".repo.clone_url"] = repo.CloneURL
		props["github."+side+".repo.html_url"] = repo.HTMLURL
	}
	refKind := "merge"
	if g.PullRequestRef == "head" {
		refKind = "head"
	}
	project := e.Repository.FullName
	if pr.Base.Repo != nil && pr.Base.Repo.FullName != "" {
		project = pr.Base.Repo.FullName
	}
	var files []string
	if g.api != nil {
		if files, err = g.pullRequestFiles(ctx, project, e.Number); err != nil {
			return nil, err
		}
	}
	return []status.Change{{
		Author:     e.Sender.Login,
		Revision:   pr.Head.SHA,
		Branch:     "refs/pull/" + strconv.Itoa(e.Number) + "/" + refKind,
		Repository: g.repoURL(e.Repository.CloneURL, e.Repository.HTMLURL, e.Repository.URL),
		Project:    project,
		Category:   "pull",
		RevLink:    pr.HTMLURL,
		When:       when,
		Files:      files,
		Comments:   comments,
		Properties: props,
	}}, nil
}

// maxPullRequestFiles is what GitHub's API lists at most.
const maxPullRequestFiles = 3000

// pullRequestFiles lists the files a pull request changes through the API.
func (g *GitHub) pullRequestFiles(ctx context.Context, fullName string, number int) ([]string, error) {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" {
		return nil, badPayload("pull_request: repository full_name %q is not OWNER/NAME", fullName)
	}
	var files []string
	opt := &github.ListOptions{PerPage: 100}
	for len(files) < maxPullRequestFiles {
		page, resp, err := g.api.PullRequests.ListFiles(ctx, owner, name, number, opt)
		if err != nil {
			return nil, fmt.Errorf("listing the files of %s#%d: %w", fullName, number, err)
		}
		for _, f := range page {
			files = append(files, f.GetFilename())
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return files, nil
}

// refName splits refs/heads/X and refs/tags/X; other refs (notes, pull
// heads) are not branches and make no change.
func refName(ref string) (name string, tag, ok bool) {
	if name, ok = strings.CutPrefix(ref, "refs/heads/"); ok {
		return name, false, name != ""
	}
	if name, ok = strings.CutPrefix(ref, "refs/tags/"); ok {
		return name, true, name != ""
	}
	return "", false, false
}
