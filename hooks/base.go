package hooks

import (
	"encoding/json"
	"net/url"

	"github.com/heraldci/herald/status"
)

// Base is the base dialect: one change from form fields, as Buildbot's
// contrib/post_build_request.py sends them (urlencoded or multipart, with
// query arguments too): author (or who), comments, revision, when (Unix
// seconds), branch, category, revlink, repository, project, codebase, files
// (a JSON array of strings) and properties (a JSON object).
//
// Base has no signature: enable it only behind Options.Auth or on a trusted
// network.
type Base struct{}

var _ Dialect = Base{}

// Name returns "base".
func (Base) Name() string { return "base" }

// Parse decodes the form.
func (Base) Parse(r *Request) ([]status.Change, error) {
	if _, err := r.RequireMediaType("application/x-www-form-urlencoded", "multipart/form-data"); err != nil {
		return nil, err
	}
	form, err := r.Form()
	if err != nil {
		return nil, err
	}
	return baseChange(form)
}

func baseChange(form url.Values) ([]status.Change, error) {
	c := status.Change{
		Author:     form.Get("author"),
		Comments:   form.Get("comments"),
		Revision:   form.Get("revision"),
		Branch:     form.Get("branch"),
		Category:   form.Get("category"),
		RevLink:    form.Get("revlink"),
		Repository: form.Get("repository"),
		Project:    form.Get("project"),
		Codebase:   form.Get("codebase"),
	}
	if c.Author == "" {
		c.Author = form.Get("who")
	}
	var err error
	if c.When, err = parseUnix("when", form.Get("when")); err != nil {
		return nil, err
	}
	if f := form.Get("files"); f != "" {
		if err := json.Unmarshal([]byte(f), &c.Files); err != nil {
			return nil, badPayload("files must be a JSON array of strings: %v", err)
		}
	}
	if p := form.Get("properties"); p != "" {
		if err := json.Unmarshal([]byte(p), &c.Properties); err != nil {
			return nil, badPayload("properties must be a JSON object: %v", err)
		}
	}
	return []status.Change{c}, nil
}
