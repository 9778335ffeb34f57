package hooks

import (
	"net/http"
	"net/url"

	"github.com/heraldci/herald/status"
)

// Base is the base dialect: one change from form fields, as Buildbot's
// contrib/post_build_request.py sends them (a POST, urlencoded or multipart,
// with query arguments too; or, as 0.8.12 accepted, a GET with query
// arguments only): author (or who), committer, comments, revision, when
// (Unix seconds; the time of receipt when absent), branch, category,
// revlink, repository, project, codebase, files (a JSON array of strings)
// and properties (a JSON object).
//
// Base has no signature: enable it only behind Options.Auth or on a trusted
// network.
type Base struct{}

var _ Dialect = Base{}

// Name returns "base".
func (Base) Name() string { return "base" }

func (Base) acceptsGET() bool { return true }

// checkHeaders checks the content type of a POST.
func (Base) checkHeaders(r *http.Request) error {
	if r.Method == http.MethodGet {
		return nil
	}
	_, err := (&Request{HTTP: r}).RequireMediaType("application/x-www-form-urlencoded", "multipart/form-data")
	return err
}

// Parse decodes the form.
func (b Base) Parse(r *Request) ([]status.Change, error) {
	if err := b.checkHeaders(r.HTTP); err != nil {
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
		Committer:  form.Get("committer"),
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
		if err := decodeJSON([]byte(f), &c.Files); err != nil {
			return nil, badPayload("files must be a JSON array of strings: %v", err)
		}
	}
	if p := form.Get("properties"); p != "" {
		if err := decodeJSON([]byte(p), &c.Properties); err != nil {
			return nil, badPayload("properties must be a JSON object: %v", err)
		}
	}
	return []status.Change{c}, nil
}
