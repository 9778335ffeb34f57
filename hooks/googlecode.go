package hooks

import (
	"crypto/md5"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/heraldci/herald/status"
)

// GoogleCode is the googlecode dialect: Google Code Project Hosting's
// post-commit JSON, one change per revision.
//
// Pass it by pointer and leave its fields alone once New has it.
type GoogleCode struct {
	// SecretKey is the project's Post-Commit Authentication Key: the body
	// must carry its HMAC-MD5 in Google-Code-Project-Hosting-Hook-Hmac.
	// Without it requests are not authenticated (Buildbot only logged that).
	SecretKey status.Secret
	// Branch is set on every change, since Google Code does not send one;
	// default "default".
	Branch string

	init   sync.Once
	signer *signer
}

var _ Dialect = (*GoogleCode)(nil)

// Name returns "googlecode".
func (g *GoogleCode) Name() string { return "googlecode" }

func (g *GoogleCode) setup() {
	g.init.Do(func() {
		if !g.SecretKey.IsZero() {
			g.signer = newSigner(md5.New, g.SecretKey.Reveal())
		}
	})
}

type googleCodePayload struct {
	ProjectName    string `json:"project_name"`
	RepositoryPath string `json:"repository_path"`
	Revisions      []struct {
		// Subversion revisions are numbers, Mercurial and Git ones strings.
		Revision  jsontext.Value `json:"revision"`
		URL       string         `json:"url"`
		Author    string         `json:"author"`
		Timestamp jsontext.Value `json:"timestamp"` // a number
		Message   string         `json:"message"`
		Added     []string       `json:"added"`
		Modified  []string       `json:"modified"`
		Removed   []string       `json:"removed"`
	} `json:"revisions"`
}

// Parse checks the HMAC, then decodes the revisions.
func (g *GoogleCode) Parse(r *Request) ([]status.Change, error) {
	g.setup()
	if g.signer != nil {
		mac := r.HTTP.Header.Get("Google-Code-Project-Hosting-Hook-Hmac")
		if mac == "" {
			return nil, Reject(http.StatusForbidden, "missing Google-Code-Project-Hosting-Hook-Hmac header")
		}
		if !g.signer.verify(r.Payload, mac) {
			return nil, Reject(http.StatusForbidden, "Google-Code-Project-Hosting-Hook-Hmac does not match the payload: check the secret key")
		}
	}
	// Google Code sent application/json; charset=UTF-8. Some relays drop it.
	if _, err := r.RequireMediaType("application/json", ""); err != nil {
		return nil, err
	}
	var p googleCodePayload
	if err := decodeJSON(r.Payload, &p); err != nil {
		return nil, badPayload("%v", err)
	}
	branch := g.Branch
	if branch == "" {
		branch = "default"
	}
	changes := make([]status.Change, 0, len(p.Revisions))
	for _, rev := range p.Revisions {
		revision, err := revisionString(rev.Revision)
		if err != nil {
			return nil, err
		}
		if k := rev.Timestamp.Kind(); k != '0' && k != 'n' && k != 0 {
			return nil, badPayload("timestamp %s is not a number", rev.Timestamp)
		}
		when, err := parseUnix("timestamp", strings.TrimPrefix(string(rev.Timestamp), "null"))
		if err != nil {
			return nil, err
		}
		files := slices.Concat(rev.Added, rev.Modified, rev.Removed)
		slices.Sort(files)
		changes = append(changes, status.Change{
			Author:     rev.Author,
			Revision:   revision,
			Branch:     branch,
			Repository: p.RepositoryPath,
			Project:    p.ProjectName,
			RevLink:    rev.URL,
			When:       when,
			Files:      slices.Compact(files),
			Comments:   rev.Message,
		})
	}
	return changes, nil
}

// revisionString accepts a JSON string or number.
func revisionString(raw jsontext.Value) (string, error) {
	switch raw.Kind() {
	case '"':
		var s string
		err := decodeJSON(raw, &s)
		return s, err
	case '0':
		return string(raw), nil
	}
	return "", badPayload("revision %s is neither a string nor a number", raw)
}
