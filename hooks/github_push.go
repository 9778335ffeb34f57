package hooks

import (
	"github.com/heraldci/herald/status"
)

// githubPushEvent holds the fields of a push event that make changes.
type githubPushEvent struct {
	Ref        string
	Deleted    bool
	Repository githubRepo
	Commits    []githubCommit
}

type githubRepo struct {
	Name, FullName, URL, HTMLURL string
}

type githubCommit struct {
	ID, Message, Timestamp, URL string
	Distinct                    bool // true when absent
	Author, Committer           githubPerson
	Added, Removed, Modified    []string
}

type githubPerson struct {
	Name, Email string
}

// decodeGitHubPush decodes a push payload with jsonReader: this is the hot
// path of a busy CI, and encoding/json spends most of its time on the
// hundreds of fields (owner, avatars, URLs) that no change needs.
func decodeGitHubPush(data []byte) (githubPushEvent, error) {
	var e githubPushEvent
	d := jsonReader{data: data}
	d.object(func(key []byte) {
		switch string(key) {
		case "ref":
			e.Ref = d.str()
		case "deleted":
			e.Deleted = d.bool()
		case "repository":
			e.Repository = githubRepo{}
			d.object(func(key []byte) {
				switch string(key) {
				case "name":
					e.Repository.Name = d.str()
				case "full_name":
					e.Repository.FullName = d.str()
				case "url":
					e.Repository.URL = d.str()
				case "html_url":
					e.Repository.HTMLURL = d.str()
				default:
					d.skip()
				}
			})
		case "commits":
			e.Commits = e.Commits[:0]
			d.array(func() {
				e.Commits = append(e.Commits, decodeGitHubCommit(&d))
			})
		default:
			d.skip()
		}
	})
	return e, d.end()
}

func decodeGitHubCommit(d *jsonReader) githubCommit {
	c := githubCommit{Distinct: true}
	d.object(func(key []byte) {
		switch string(key) {
		case "id":
			c.ID = d.str()
		case "message":
			c.Message = d.str()
		case "timestamp":
			c.Timestamp = d.str()
		case "url":
			c.URL = d.str()
		case "distinct":
			c.Distinct = d.bool()
		case "author":
			c.Author = decodeGitHubPerson(d)
		case "committer":
			c.Committer = decodeGitHubPerson(d)
		case "added":
			c.Added = d.strings()
		case "removed":
			c.Removed = d.strings()
		case "modified":
			c.Modified = d.strings()
		default:
			d.skip()
		}
	})
	return c
}

func decodeGitHubPerson(d *jsonReader) githubPerson {
	var p githubPerson
	d.object(func(key []byte) {
		switch string(key) {
		case "name":
			p.Name = d.str()
		case "email":
			p.Email = d.str()
		default:
			d.skip()
		}
	})
	return p
}

// githubPush makes one change per distinct commit of a branch or tag push,
// as Buildbot 0.8.12 does; deletions make none. Non-distinct commits (already
// pushed to another branch) are skipped: they were built then.
func githubPush(payload []byte) ([]status.Change, error) {
	e, err := decodeGitHubPush(payload)
	if err != nil {
		return nil, badPayload("push: %v", err)
	}
	return e.changes()
}

func (e *githubPushEvent) changes() ([]status.Change, error) {
	name, tag, ok := refName(e.Ref)
	if !ok {
		return nil, Ignored("ref %q is neither a branch nor a tag", e.Ref)
	}
	if e.Deleted {
		return nil, Ignored("%s deleted", e.Ref)
	}
	category := ""
	if tag {
		category = "tag"
	}
	repo := e.Repository.URL
	if repo == "" {
		repo = e.Repository.HTMLURL
	}
	changes := make([]status.Change, 0, len(e.Commits))
	for i := range e.Commits {
		c := &e.Commits[i]
		if !c.Distinct {
			continue
		}
		if c.ID == "" {
			return nil, badPayload("push: commit %d has no id", i)
		}
		when, err := parseDate("commit timestamp", c.Timestamp)
		if err != nil {
			return nil, err
		}
		files := make([]string, 0, len(c.Added)+len(c.Modified)+len(c.Removed))
		files = append(append(append(files, c.Added...), c.Modified...), c.Removed...)
		changes = append(changes, status.Change{
			Author:     person(c.Author.Name, c.Author.Email),
			Committer:  person(c.Committer.Name, c.Committer.Email),
			Revision:   c.ID,
			Branch:     name,
			Repository: repo,
			Project:    e.Repository.FullName,
			Category:   category,
			RevLink:    c.URL,
			When:       when,
			Files:      files,
			Comments:   c.Message,
		})
	}
	return changes, nil
}
