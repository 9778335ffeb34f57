package hooks

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

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
	// PullRequestActions are the pull_request actions that make a change;
	// default opened, reopened and synchronize. Add "edited" to rebuild
	// when the title or base changes, "ready_for_review" for drafts.
	PullRequestActions []string
	// Events handle more event types (Buildbot's class option), by
	// X-GitHub-Event name; they win over the built-in ping, push and
	// pull_request handlers. The payload is valid only during the call.
	Events map[string]func(r *Request, payload []byte) ([]status.Change, error)

	init     sync.Once
	sha256   *signer
	sha1     *signer
	actions  []string
	decoders sync.Pool // *pushDecoder
}

var _ Dialect = (*GitHub)(nil)

// Name returns "github".
func (g *GitHub) Name() string { return "github" }

func (g *GitHub) validate() error {
	if g.Strict && g.Secret.IsZero() {
		return errors.New("hooks: GitHub.Strict is set but GitHub.Secret is empty: set the webhook secret")
	}
	g.setup()
	return nil
}

func (g *GitHub) setup() {
	g.init.Do(func() {
		if !g.Secret.IsZero() {
			g.sha256 = newSigner(sha256.New, g.Secret.Reveal())
			g.sha1 = newSigner(sha1.New, g.Secret.Reveal())
		}
		g.actions = g.PullRequestActions
		if len(g.actions) == 0 {
			g.actions = []string{"opened", "reopened", "synchronize"}
		}
	})
}

// Parse checks the signature, then decodes the event.
func (g *GitHub) Parse(r *Request) ([]status.Change, error) {
	g.setup()
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
		changes, err = g.pullRequest(payload)
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
		Title     string `json:"title"`
		Body      string `json:"body"`
		HTMLURL   string `json:"html_url"`
		CreatedAt string `json:"created_at"`
		UpdatedAt string `json:"updated_at"`
		Commits   int    `json:"commits"`
		Draft     bool   `json:"draft"`
		User      struct {
			Login string `json:"login"`
		} `json:"user"`
		Head githubRef `json:"head"`
		Base githubRef `json:"base"`
	} `json:"pull_request"`
	Repository struct {
		FullName string `json:"full_name"`
		CloneURL string `json:"clone_url"`
	} `json:"repository"`
	Sender struct {
		Login string `json:"login"`
	} `json:"sender"`
}

type githubRef struct {
	Ref  string `json:"ref"`
	SHA  string `json:"sha"`
	Repo *struct {
		FullName string `json:"full_name"`
		CloneURL string `json:"clone_url"`
	} `json:"repo"`
}

// pullRequest makes one change for the head of an opened or updated pull
// request, on the merge ref GitHub maintains, so the build tests the merge.
func (g *GitHub) pullRequest(payload []byte) ([]status.Change, error) {
	var e githubPullRequestEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, badPayload("pull_request: %v", err)
	}
	if !slices.Contains(g.actions, e.Action) {
		return nil, Ignored("pull request #%d %s", e.Number, e.Action)
	}
	pr := &e.PullRequest
	if e.Number <= 0 || pr.Head.SHA == "" {
		return nil, badPayload("pull_request: missing number or head sha")
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
		"github.action":    e.Action,
		"github.number":    e.Number,
		"github.title":     pr.Title,
		"github.html_url":  pr.HTMLURL,
		"github.draft":     pr.Draft,
		"github.user":      pr.User.Login,
		"github.head.ref":  pr.Head.Ref,
		"github.head.sha":  pr.Head.SHA,
		"github.base.ref":  pr.Base.Ref,
		"github.base.sha":  pr.Base.SHA,
		"github.head.repo": "",
	}
	if pr.Head.Repo != nil {
		props["github.head.repo"] = pr.Head.Repo.FullName
	}
	return []status.Change{{
		Author:     e.Sender.Login,
		Revision:   pr.Head.SHA,
		Branch:     "refs/pull/" + strconv.Itoa(e.Number) + "/merge",
		Repository: e.Repository.CloneURL,
		Project:    e.Repository.FullName,
		Category:   "pull",
		RevLink:    pr.HTMLURL,
		When:       when,
		Comments:   comments,
		Properties: props,
	}}, nil
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
