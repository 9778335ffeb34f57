package hooks

import (
	"cmp"
	"crypto/subtle"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/heraldci/herald/status"
)

// GitLab is the gitlab dialect: push, tag push, merge request and note
// (comment) events. The event is the payload's object_kind or, when a
// payload lacks it, the X-Gitlab-Event header ("Push Hook", "Tag Push
// Hook", "Merge Request Hook", "Note Hook"). ?project= and ?codebase= set
// the project and codebase of every change.
//
// Pass it by pointer and leave its fields alone once New has it.
type GitLab struct {
	// Secret, when set, must equal the X-Gitlab-Token header (GitLab sends
	// the token itself, not a signature). It is checked before the body is
	// read.
	Secret status.Secret
	// MergeRequestActions are the merge request actions that make a change;
	// default open, reopen and update (update only when new commits came),
	// as Buildbot. Add "merge" for a change on the target branch at the
	// merge commit when a merge request is merged.
	MergeRequestActions []string
	// NotePattern, when set, is a regular expression (Go syntax): a comment
	// on a merge request whose text matches it (e.g. `(?m)^/retest\b`)
	// makes a change for the merge request's last commit, with the comment
	// in the properties. Other notes, and every note without NotePattern,
	// make none.
	NotePattern string

	init     sync.Once
	setupErr error
	actions  []string
	note     *regexp.Regexp
}

var _ Dialect = (*GitLab)(nil)

// Name returns "gitlab".
func (g *GitLab) Name() string { return "gitlab" }

func (g *GitLab) validate() error {
	g.setup()
	return g.setupErr
}

func (g *GitLab) setup() {
	g.init.Do(func() {
		g.actions = g.MergeRequestActions
		if len(g.actions) == 0 {
			g.actions = []string{"open", "reopen", "update"}
		}
		if g.NotePattern != "" {
			re, err := regexp.Compile(g.NotePattern)
			if err != nil {
				g.setupErr = fmt.Errorf("hooks: GitLab.NotePattern: %v", err)
				return
			}
			g.note = re
		}
	})
}

// gitlabEvents maps X-Gitlab-Event to object_kind.
var gitlabEvents = map[string]string{
	"Push Hook":          "push",
	"Tag Push Hook":      "tag_push",
	"Merge Request Hook": "merge_request",
	"Note Hook":          "note",
}

type gitlabAuthor struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

type gitlabCommit struct {
	ID        string       `json:"id"`
	Message   string       `json:"message"`
	Timestamp string       `json:"timestamp"`
	URL       string       `json:"url"`
	Author    gitlabAuthor `json:"author"`
	Added     []string     `json:"added"`
	Modified  []string     `json:"modified"`
	Removed   []string     `json:"removed"`
}

type gitlabProject struct {
	Name              string `json:"name"`
	PathWithNamespace string `json:"path_with_namespace"`
	GitHTTPURL        string `json:"git_http_url"`
	GitSSHURL         string `json:"git_ssh_url"`
	WebURL            string `json:"web_url"`
}

type gitlabMergeRequest struct {
	IID             int           `json:"iid"`
	Title           string        `json:"title"`
	Description     string        `json:"description"`
	State           string        `json:"state"`
	Action          string        `json:"action"`
	URL             string        `json:"url"`
	SourceBranch    string        `json:"source_branch"`
	TargetBranch    string        `json:"target_branch"`
	SourceProjectID int           `json:"source_project_id"`
	TargetProjectID int           `json:"target_project_id"`
	OldRev          string        `json:"oldrev"`
	MergeCommitSHA  string        `json:"merge_commit_sha"`
	Source          gitlabProject `json:"source"`
	Target          gitlabProject `json:"target"`
	LastCommit      gitlabCommit  `json:"last_commit"`
}

type gitlabEvent struct {
	ObjectKind  string         `json:"object_kind"`
	Ref         string         `json:"ref"`
	After       string         `json:"after"`
	CheckoutSHA string         `json:"checkout_sha"`
	UserName    string         `json:"user_name"`
	UserEmail   string         `json:"user_email"`
	Commits     []gitlabCommit `json:"commits"`
	Project     gitlabProject  `json:"project"`
	Repository  struct {
		Name       string `json:"name"`
		URL        string `json:"url"`
		GitHTTPURL string `json:"git_http_url"`
	} `json:"repository"`
	User struct {
		Name     string `json:"name"`
		Username string `json:"username"`
		Email    string `json:"email"`
	} `json:"user"`
	// ObjectAttributes is the merge request of a merge_request event, the
	// comment of a note event.
	ObjectAttributes struct {
		gitlabMergeRequest `json:",inline"`
		Note               string `json:"note"`
		NoteableType       string `json:"noteable_type"`
	} `json:"object_attributes"`
	// MergeRequest is the merge request a note comments.
	MergeRequest *gitlabMergeRequest `json:"merge_request"`
}

// checkHeaders checks the token and the content type.
func (g *GitLab) checkHeaders(r *http.Request) error {
	if !g.Secret.IsZero() {
		token := r.Header.Get("X-Gitlab-Token")
		if token == "" {
			return Reject(http.StatusForbidden, "missing X-Gitlab-Token header: set the secret token on the GitLab webhook")
		}
		if subtle.ConstantTimeCompare([]byte(token), []byte(g.Secret.Reveal())) != 1 {
			return Reject(http.StatusForbidden, "X-Gitlab-Token does not match: check the secret token")
		}
	}
	_, err := (&Request{HTTP: r}).RequireMediaType("application/json")
	return err
}

// Parse checks the token, then decodes the event.
func (g *GitLab) Parse(r *Request) ([]status.Change, error) {
	g.setup()
	if g.setupErr != nil {
		return nil, g.setupErr
	}
	if err := g.checkHeaders(r.HTTP); err != nil {
		return nil, err
	}
	var e gitlabEvent
	if err := decodeJSON(r.Payload, &e); err != nil {
		return nil, badPayload("%v", err)
	}
	kind := e.ObjectKind
	if kind == "" {
		header := r.HTTP.Header.Get("X-Gitlab-Event")
		if header == "" {
			return nil, badPayload("no object_kind and no X-Gitlab-Event header: is this a GitLab webhook?")
		}
		if kind = gitlabEvents[header]; kind == "" {
			return nil, Ignored("event %q is not handled", header)
		}
	}
	var (
		changes []status.Change
		err     error
	)
	switch kind {
	case "push", "tag_push":
		changes, err = e.push(kind)
	case "merge_request":
		changes, err = g.mergeRequest(&e.ObjectAttributes.gitlabMergeRequest, e.User.Name, e.User.Email)
	case "note":
		changes, err = g.noteChange(&e)
	default:
		return nil, Ignored("event %q is not handled", kind)
	}
	if err != nil {
		return nil, err
	}
	q := r.Query()
	for i := range changes {
		if p := q.Get("project"); p != "" {
			changes[i].Project = p
		}
		if cb := q.Get("codebase"); cb != "" {
			changes[i].Codebase = cb
		}
	}
	return changes, nil
}

func (e *gitlabEvent) repository() string {
	for _, u := range []string{e.Project.GitHTTPURL, e.Repository.GitHTTPURL, e.Repository.URL} {
		if u != "" {
			return u
		}
	}
	return ""
}

// push makes one change per commit of a branch push; a tag push makes one
// change for the tagged commit. Deletions (after is all zeros) make none;
// a branch push that lists no commit makes one for the new head.
func (e *gitlabEvent) push(kind string) ([]status.Change, error) {
	name, tag, ok := refName(e.Ref)
	if !ok {
		if e.Ref == "" {
			return nil, badPayload("%s without ref", kind)
		}
		return nil, Ignored("ref %q is neither a branch nor a tag", e.Ref)
	}
	if strings.Trim(e.After, "0") == "" {
		if e.After == "" {
			return nil, badPayload("%s to %s without after", kind, e.Ref)
		}
		return nil, Ignored("%s deleted", e.Ref)
	}
	commits := e.Commits
	category := ""
	head := e.CheckoutSHA
	if head == "" {
		head = e.After
	}
	if tag {
		category = "tag"
		commits = nil
		for _, c := range e.Commits {
			if c.ID == head {
				commits = []gitlabCommit{c}
			}
		}
	}
	if len(commits) == 0 { // a tag or branch at a commit pushed before
		what := "branch "
		if tag {
			what = "tag "
		}
		commits = []gitlabCommit{{ID: head, Message: what + name}}
		commits[0].Author.Name, commits[0].Author.Email = e.UserName, e.UserEmail
	}
	changes := make([]status.Change, 0, len(commits))
	for _, c := range commits {
		when, err := parseDate("commit timestamp", c.Timestamp)
		if err != nil {
			return nil, err
		}
		changes = append(changes, status.Change{
			Author:     person(c.Author.Name, c.Author.Email),
			Revision:   c.ID,
			Branch:     name,
			Repository: e.repository(),
			Project:    e.Project.PathWithNamespace,
			Category:   category,
			RevLink:    c.URL,
			When:       when,
			Files:      slices.Concat(c.Added, c.Modified, c.Removed),
			Comments:   c.Message,
			Properties: map[string]any{"event": kind},
		})
	}
	return changes, nil
}

// mergeRequest makes one change for the last commit of an opened or updated
// merge request, on its target branch (the source is in the properties), as
// Buildbot; a merged one, when "merge" is among the actions, at its merge
// commit.
func (g *GitLab) mergeRequest(a *gitlabMergeRequest, userName, userEmail string) ([]status.Change, error) {
	if !slices.Contains(g.actions, a.Action) {
		return nil, Ignored("merge request !%d %s", a.IID, a.Action)
	}
	if a.Action != "merge" && (a.State == "closed" || a.State == "merged") {
		return nil, Ignored("merge request !%d is %s", a.IID, a.State)
	}
	if a.Action == "update" && a.OldRev == "" {
		return nil, Ignored("merge request !%d updated without new commits", a.IID)
	}
	c, err := mergeRequestChange(a, "merge_request")
	if err != nil {
		return nil, err
	}
	if a.Action == "merge" && a.MergeCommitSHA != "" {
		c.Revision = a.MergeCommitSHA
		c.Author = person(userName, userEmail)
		c.RevLink = a.URL
	}
	return []status.Change{c}, nil
}

func mergeRequestChange(a *gitlabMergeRequest, event string) (status.Change, error) {
	c := &a.LastCommit
	if c.ID == "" {
		return status.Change{}, badPayload("%s: merge request !%d has no last_commit id", event, a.IID)
	}
	when, err := parseDate("last_commit.timestamp", c.Timestamp)
	if err != nil {
		return status.Change{}, err
	}
	return status.Change{
		Author:     person(c.Author.Name, c.Author.Email),
		Revision:   c.ID,
		Branch:     a.TargetBranch,
		Repository: a.Target.GitHTTPURL,
		Project:    a.Target.PathWithNamespace,
		Category:   event,
		RevLink:    a.URL,
		When:       when,
		Comments:   "MR!" + strconv.Itoa(a.IID) + ": " + a.Title + "\n\n" + a.Description,
		Properties: map[string]any{
			"event":                event,
			"source_branch":        a.SourceBranch,
			"source_project_id":    a.SourceProjectID,
			"source_repository":    a.Source.GitHTTPURL,
			"source_git_ssh_url":   a.Source.GitSSHURL,
			"target_branch":        a.TargetBranch,
			"target_project_id":    a.TargetProjectID,
			"target_repository":    a.Target.GitHTTPURL,
			"target_git_ssh_url":   a.Target.GitSSHURL,
			"merge_request.iid":    a.IID,
			"merge_request.title":  a.Title,
			"merge_request.url":    a.URL,
			"merge_request.state":  a.State,
			"merge_request.action": a.Action,
		},
	}, nil
}

// noteChange makes a change for a merge request comment matching
// NotePattern.
func (g *GitLab) noteChange(e *gitlabEvent) ([]status.Change, error) {
	n := &e.ObjectAttributes
	if n.NoteableType != "MergeRequest" {
		return nil, Ignored("note on a %s", cmp.Or(n.NoteableType, "unknown object"))
	}
	if g.note == nil {
		return nil, Ignored("note: set GitLab.NotePattern to build on merge request comments")
	}
	if !g.note.MatchString(n.Note) {
		return nil, Ignored("note does not match NotePattern")
	}
	if e.MergeRequest == nil {
		return nil, badPayload("note on a merge request without merge_request")
	}
	c, err := mergeRequestChange(e.MergeRequest, "note")
	if err != nil {
		return nil, err
	}
	c.Author = person(e.User.Name, e.User.Email)
	c.Comments = n.Note
	c.RevLink = n.URL
	c.Properties["note"] = n.Note
	c.Properties["note.url"] = n.URL
	return []status.Change{c}, nil
}
