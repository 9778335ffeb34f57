package hooks

import (
	"strings"

	"github.com/heraldci/herald/status"
)

// Gitorious is the gitorious dialect: a form with a payload= field holding
// the push as JSON, one change per commit. Gitorious neither signs its
// hooks nor lists files: protect the URL with Options.Auth.
type Gitorious struct{}

var _ Dialect = Gitorious{}

// Name returns "gitorious".
func (Gitorious) Name() string { return "gitorious" }

type gitoriousPush struct {
	After   string `json:"after"`
	Ref     string `json:"ref"`
	Project struct {
		Name string `json:"name"`
	} `json:"project"`
	Repository struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"repository"`
	Commits []struct {
		ID        string `json:"id"`
		Message   string `json:"message"`
		Timestamp string `json:"timestamp"`
		URL       string `json:"url"`
		Author    struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"author"`
	} `json:"commits"`
}

// Parse decodes the payload field.
func (Gitorious) Parse(r *Request) ([]status.Change, error) {
	if _, err := r.RequireMediaType("application/x-www-form-urlencoded"); err != nil {
		return nil, err
	}
	payload, err := formPayload(r.Payload)
	if err != nil {
		return nil, err
	}
	var p gitoriousPush
	if err := decodeJSON(payload, &p); err != nil {
		return nil, badPayload("%v", err)
	}
	if strings.Trim(p.After, "0") == "" {
		return nil, Ignored("branch %q deleted", p.Ref)
	}
	branch := strings.TrimPrefix(p.Ref, "refs/heads/")
	changes := make([]status.Change, 0, len(p.Commits))
	for _, c := range p.Commits {
		when, err := parseDate("commit timestamp", c.Timestamp)
		if err != nil {
			return nil, err
		}
		changes = append(changes, status.Change{
			Author:     person(c.Author.Name, c.Author.Email),
			Revision:   c.ID,
			Branch:     branch,
			Repository: p.Repository.URL,
			Project:    p.Project.Name,
			RevLink:    c.URL,
			When:       when,
			Comments:   c.Message,
		})
	}
	return changes, nil
}
