package hooks

import (
	"sync"

	"github.com/heraldci/herald/status"
)

// githubPushEvent holds the fields of a push event that make changes.
type githubPushEvent struct {
	Ref        string         `json:"ref"`
	Created    bool           `json:"created"`
	Deleted    bool           `json:"deleted"`
	Repository githubRepo     `json:"repository"`
	Commits    []githubCommit `json:"commits"`
	// HeadCommit is the commit the ref now points to; nil when the ref was
	// deleted.
	HeadCommit *githubCommit `json:"head_commit"`
}

type githubRepo struct {
	FullName string `json:"full_name"`
	URL      string `json:"url"`
	HTMLURL  string `json:"html_url"`
	CloneURL string `json:"clone_url"`
}

type githubCommit struct {
	ID        string       `json:"id"`
	Message   string       `json:"message"`
	Timestamp string       `json:"timestamp"`
	URL       string       `json:"url"`
	Distinct  *bool        `json:"distinct"` // nil (absent or null) counts as true
	Author    githubPerson `json:"author"`
	Committer githubPerson `json:"committer"`
	Added     []string     `json:"added"`
	Removed   []string     `json:"removed"`
	Modified  []string     `json:"modified"`
}

type githubPerson struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

func (c *githubCommit) distinct() bool { return c.Distinct == nil || *c.Distinct }

// push makes one change per commit of a branch or tag push, as Buildbot
// does: commits GitHub marks distinct:false (already pushed to another
// branch, e.g. a feature branch fast-forwarded into main) are changes too,
// with the property github_distinct false, unless OnlyDistinct is set. A push
// that lists no commit (a new branch or a tag at an existing commit) and a
// newly created branch make one change for the head commit. Deletions make
// none, and so does a head commit whose message asks to skip CI.
func (g *GitHub) push(payload []byte) ([]status.Change, error) {
	buf := commitBuffers.Get().(*[]githubCommit)
	e := githubPushEvent{Commits: (*buf)[:0]}
	err := decodeJSON(payload, &e)
	var changes []status.Change
	if err == nil {
		changes, err = g.pushChanges(&e)
	} else {
		err = badPayload("push: %v", err)
	}
	// The changes share no memory with the commits: recycle them, emptied,
	// unless a huge push grew them.
	if cap(e.Commits) > cap(*buf) {
		*buf = e.Commits
	}
	if cap(*buf) <= 256 {
		clear((*buf)[:cap(*buf)])
		commitBuffers.Put(buf)
	}
	return changes, err
}

// commitBuffers hold the commits of a push while it is decoded: growing the
// slice commit by commit is a tenth of the decoding time otherwise.
var commitBuffers = sync.Pool{New: func() any {
	b := make([]githubCommit, 0, 32)
	return &b
}}

func (g *GitHub) pushChanges(e *githubPushEvent) ([]status.Change, error) {
	name, tag, ok := refName(e.Ref)
	if !ok {
		return nil, Ignored("ref %q is neither a branch nor a tag", e.Ref)
	}
	if e.Deleted {
		return nil, Ignored("%s deleted", e.Ref)
	}
	if e.HeadCommit != nil {
		if p := g.skipped(e.HeadCommit.Message); p != "" {
			return nil, Ignored("head commit message matches skip pattern %s", p)
		}
	}
	commits := e.Commits
	switch {
	case e.HeadCommit != nil && (e.Created || len(commits) == 0):
		commits = []githubCommit{*e.HeadCommit}
	case len(commits) == 0:
		return nil, badPayload("push to %s lists no commit and no head_commit", e.Ref)
	}
	changes := make([]status.Change, 0, len(commits))
	for i := range commits {
		c := &commits[i]
		if g.OnlyDistinct && !c.distinct() {
			continue
		}
		ch, err := g.pushChange(e, c, name, tag)
		if err != nil {
			return nil, err
		}
		changes = append(changes, ch)
	}
	if len(changes) == 0 {
		return nil, Ignored("no distinct commit in the push to %s (OnlyDistinct)", e.Ref)
	}
	return changes, nil
}

func (g *GitHub) pushChange(e *githubPushEvent, c *githubCommit, branch string, tag bool) (status.Change, error) {
	if c.ID == "" {
		return status.Change{}, badPayload("push: a commit has no id")
	}
	when, err := parseDate("commit timestamp", c.Timestamp)
	if err != nil {
		return status.Change{}, err
	}
	category := ""
	if tag {
		category = "tag"
	}
	files := make([]string, 0, len(c.Added)+len(c.Modified)+len(c.Removed))
	files = append(append(append(files, c.Added...), c.Modified...), c.Removed...)
	return status.Change{
		Author:     person(c.Author.Name, c.Author.Email),
		Committer:  person(c.Committer.Name, c.Committer.Email),
		Revision:   c.ID,
		Branch:     branch,
		Repository: g.repoURL(e.Repository.CloneURL, e.Repository.HTMLURL, e.Repository.URL),
		Project:    e.Repository.FullName,
		Category:   category,
		RevLink:    c.URL,
		When:       when,
		Files:      files,
		Comments:   c.Message,
		Properties: map[string]any{"event": "push", "github_distinct": c.distinct()},
	}, nil
}
