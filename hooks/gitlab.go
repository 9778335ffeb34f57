package hooks

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldci/herald/status"
)

// GitLab is the gitlab dialect: push, tag_push and merge_request events.
// ?project= and ?codebase= set the project and codebase of every change.
type GitLab struct {
	// Secret, when set, must equal the X-Gitlab-Token header (GitLab sends
	// the token itself, not a signature).
	Secret status.Secret
	// MergeRequestActions are the merge request actions that make a change;
	// default open, reopen and update (update only when new commits came).
	MergeRequestActions []string
}

var _ Dialect = (*GitLab)(nil)

// Name returns "gitlab".
func (g *GitLab) Name() string { return "gitlab" }

type gitlabCommit struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
	URL       string `json:"url"`
	Author    struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"author"`
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Removed  []string `json:"removed"`
}

type gitlabProject struct {
	Name              string `json:"name"`
	PathWithNamespace string `json:"path_with_namespace"`
	GitHTTPURL        string `json:"git_http_url"`
	GitSSHURL         string `json:"git_ssh_url"`
	WebURL            string `json:"web_url"`
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
	} `json:"user"`
	ObjectAttributes struct {
		IID          int           `json:"iid"`
		Title        string        `json:"title"`
		Description  string        `json:"description"`
		State        string        `json:"state"`
		Action       string        `json:"action"`
		URL          string        `json:"url"`
		SourceBranch string        `json:"source_branch"`
		TargetBranch string        `json:"target_branch"`
		OldRev       string        `json:"oldrev"`
		Source       gitlabProject `json:"source"`
		Target       gitlabProject `json:"target"`
		LastCommit   gitlabCommit  `json:"last_commit"`
	} `json:"object_attributes"`
}

// Parse checks the token, then decodes the event named by object_kind.
func (g *GitLab) Parse(r *Request) ([]status.Change, error) {
	if !g.Secret.IsZero() {
		token := r.HTTP.Header.Get("X-Gitlab-Token")
		if token == "" {
			return nil, Reject(http.StatusForbidden, "missing X-Gitlab-Token header: set the secret token on the GitLab webhook")
		}
		if subtle.ConstantTimeCompare([]byte(token), []byte(g.Secret.Reveal())) != 1 {
			return nil, Reject(http.StatusForbidden, "X-Gitlab-Token does not match: check the secret token")
		}
	}
	if _, err := r.RequireMediaType("application/json"); err != nil {
		return nil, err
	}
	var e gitlabEvent
	if err := json.Unmarshal(r.Payload, &e); err != nil {
		return nil, badPayload("%v", err)
	}
	var (
		changes []status.Change
		err     error
	)
	switch e.ObjectKind {
	case "push", "tag_push":
		changes, err = e.push()
	case "merge_request":
		changes, err = e.mergeRequest(g.MergeRequestActions)
	case "":
		return nil, badPayload("no object_kind: is this a GitLab webhook?")
	default:
		return nil, Ignored("event %q is not handled", e.ObjectKind)
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
// change for the tagged commit. Deletions (after is all zeros) make none.
func (e *gitlabEvent) push() ([]status.Change, error) {
	name, tag, ok := refName(e.Ref)
	if !ok {
		return nil, Ignored("ref %q is neither a branch nor a tag", e.Ref)
	}
	if strings.Trim(e.After, "0") == "" {
		return nil, Ignored("%s deleted", e.Ref)
	}
	commits := e.Commits
	category := ""
	if tag {
		category = "tag"
		commits = nil
		for _, c := range e.Commits {
			if c.ID == e.CheckoutSHA {
				commits = []gitlabCommit{c}
			}
		}
		if commits == nil { // the tagged commit was pushed before
			commits = []gitlabCommit{{ID: e.CheckoutSHA, Message: "tag " + name}}
			commits[0].Author.Name, commits[0].Author.Email = e.UserName, e.UserEmail
		}
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
			Files:      append(append(append([]string{}, c.Added...), c.Modified...), c.Removed...),
			Comments:   c.Message,
		})
	}
	return changes, nil
}

// mergeRequest makes one change for the last commit of an opened or updated
// merge request, on its target branch; the source is in the properties.
func (e *gitlabEvent) mergeRequest(actions []string) ([]status.Change, error) {
	a := &e.ObjectAttributes
	if len(actions) == 0 {
		actions = []string{"open", "reopen", "update"}
	}
	handled := false
	for _, x := range actions {
		handled = handled || x == a.Action
	}
	if !handled || a.State == "closed" || a.State == "merged" {
		return nil, Ignored("merge request !%d %s", a.IID, a.Action)
	}
	if a.Action == "update" && a.OldRev == "" {
		return nil, Ignored("merge request !%d updated without new commits", a.IID)
	}
	c := &a.LastCommit
	if c.ID == "" {
		return nil, badPayload("merge_request: no last_commit id")
	}
	when, err := parseDate("last_commit.timestamp", c.Timestamp)
	if err != nil {
		return nil, err
	}
	return []status.Change{{
		Author:     person(c.Author.Name, c.Author.Email),
		Revision:   c.ID,
		Branch:     a.TargetBranch,
		Repository: a.Target.GitHTTPURL,
		Project:    a.Target.PathWithNamespace,
		Category:   "merge_request",
		RevLink:    a.URL,
		When:       when,
		Comments:   "MR!" + strconv.Itoa(a.IID) + ": " + a.Title + "\n\n" + a.Description,
		Properties: map[string]any{
			"event":              "merge_request",
			"source_branch":      a.SourceBranch,
			"source_repository":  a.Source.GitHTTPURL,
			"source_git_ssh_url": a.Source.GitSSHURL,
			"target_branch":      a.TargetBranch,
			"target_repository":  a.Target.GitHTTPURL,
			"target_git_ssh_url": a.Target.GitSSHURL,
			"merge_request.iid":  a.IID,
		},
	}}, nil
}
