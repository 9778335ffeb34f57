package hooks

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/heraldci/herald/status"
)

// Bitbucket is the bitbucket dialect. It takes three payloads:
//   - the POST service of Buildbot 0.8.12's days: a form with payload=,
//     one change per commit;
//   - Bitbucket Cloud's repo:push event (X-Event-Key), one change per
//     updated branch or tag, at its new head;
//   - Bitbucket Server's repo:refs_changed event, one change per updated
//     ref (its diagnostics:ping is acknowledged).
//
// ?project= sets the project of every change.
//
// Pass it by pointer and leave its fields alone once New has it.
type Bitbucket struct {
	// Secret, when set, checks the X-Hub-Signature (sha256=HEX) that
	// Bitbucket Server and Cloud webhooks send when given a secret.
	Secret status.Secret
	// Strict rejects requests without X-Hub-Signature; it requires Secret
	// (and rules out the unsigned POST service).
	Strict bool

	init   sync.Once
	signer *signer
}

var _ Dialect = (*Bitbucket)(nil)

// Name returns "bitbucket".
func (b *Bitbucket) Name() string { return "bitbucket" }

func (b *Bitbucket) validate() error {
	if b.Strict && b.Secret.IsZero() {
		return errors.New("hooks: Bitbucket.Strict is set but Bitbucket.Secret is empty: set the webhook secret")
	}
	b.setup()
	return nil
}

func (b *Bitbucket) setup() {
	b.init.Do(func() {
		if !b.Secret.IsZero() {
			b.signer = newSigner(sha256.New, b.Secret.Reveal())
		}
	})
}

// Parse checks the signature, then decodes the payload its event key names.
func (b *Bitbucket) Parse(r *Request) ([]status.Change, error) {
	b.setup()
	if _, err := r.RequireMediaType("application/json", "application/x-www-form-urlencoded"); err != nil {
		return nil, err
	}
	sig := r.HTTP.Header.Get("X-Hub-Signature")
	switch {
	case b.signer != nil && sig != "":
		if err := hubSignature(b.signer, r.Payload, sig, "X-Hub-Signature", "sha256"); err != nil {
			return nil, err
		}
	case b.Strict:
		return nil, Reject(http.StatusForbidden, "unsigned request: configure the webhook secret on Bitbucket")
	}
	var (
		changes []status.Change
		err     error
	)
	switch key := r.HTTP.Header.Get("X-Event-Key"); key {
	case "":
		changes, err = bitbucketPOSTService(r.Payload)
	case "repo:push":
		changes, err = bitbucketCloudPush(r.Payload)
	case "repo:refs_changed":
		changes, err = bitbucketServerRefsChanged(r.Payload)
	case "diagnostics:ping":
		return nil, Ignored("ping")
	default:
		return nil, Ignored("event %q is not handled", key)
	}
	if err != nil {
		return nil, err
	}
	if project := r.Query().Get("project"); project != "" {
		for i := range changes {
			changes[i].Project = project
		}
	}
	return changes, nil
}

type bitbucketPOST struct {
	CanonURL   string `json:"canon_url"`
	Repository struct {
		AbsoluteURL string `json:"absolute_url"`
		SCM         string `json:"scm"`
	} `json:"repository"`
	Commits []struct {
		RawAuthor    string `json:"raw_author"`
		RawNode      string `json:"raw_node"`
		Branch       string `json:"branch"`
		Message      string `json:"message"`
		UTCTimestamp string `json:"utctimestamp"`
		Files        []struct {
			File string `json:"file"`
		} `json:"files"`
	} `json:"commits"`
}

// bitbucketPOSTService decodes the POST service payload (0.8.12's hook).
func bitbucketPOSTService(body []byte) ([]status.Change, error) {
	payload, err := formPayload(body)
	if err != nil {
		return nil, err
	}
	var p bitbucketPOST
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, badPayload("%v", err)
	}
	repo := p.CanonURL + p.Repository.AbsoluteURL
	changes := make([]status.Change, 0, len(p.Commits))
	for _, c := range p.Commits {
		when, err := parseDate("utctimestamp", c.UTCTimestamp)
		if err != nil {
			return nil, err
		}
		files := make([]string, len(c.Files))
		for i, f := range c.Files {
			files[i] = f.File
		}
		changes = append(changes, status.Change{
			Author:     c.RawAuthor,
			Revision:   c.RawNode,
			Branch:     c.Branch,
			Repository: repo,
			RevLink:    repo + "commits/" + c.RawNode,
			When:       when,
			Files:      files,
			Comments:   c.Message,
			Properties: map[string]any{"scm": p.Repository.SCM},
		})
	}
	return changes, nil
}

type bitbucketCloudRef struct {
	Type   string `json:"type"` // "branch", "tag"
	Name   string `json:"name"`
	Target struct {
		Hash    string `json:"hash"`
		Message string `json:"message"`
		Date    string `json:"date"`
		Author  struct {
			Raw string `json:"raw"`
		} `json:"author"`
		Links struct {
			HTML struct {
				Href string `json:"href"`
			} `json:"html"`
		} `json:"links"`
	} `json:"target"`
}

type bitbucketCloudPushEvent struct {
	Push struct {
		Changes []struct {
			New *bitbucketCloudRef `json:"new"`
		} `json:"changes"`
	} `json:"push"`
	Repository struct {
		FullName string `json:"full_name"`
		SCM      string `json:"scm"`
		Links    struct {
			HTML struct {
				Href string `json:"href"`
			} `json:"html"`
		} `json:"links"`
	} `json:"repository"`
}

// bitbucketCloudPush makes a change per updated ref at its new head; the
// event lists at most five commits per ref, so per-commit changes would be
// incomplete anyway. Deleted refs (new is null) make none.
func bitbucketCloudPush(body []byte) ([]status.Change, error) {
	var e bitbucketCloudPushEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, badPayload("repo:push: %v", err)
	}
	var changes []status.Change
	for _, ch := range e.Push.Changes {
		ref := ch.New
		if ref == nil {
			continue
		}
		if ref.Target.Hash == "" {
			return nil, badPayload("repo:push: ref %q has no target hash", ref.Name)
		}
		when, err := parseDate("target.date", ref.Target.Date)
		if err != nil {
			return nil, err
		}
		category := ""
		if ref.Type == "tag" {
			category = "tag"
		}
		changes = append(changes, status.Change{
			Author:     ref.Target.Author.Raw,
			Revision:   ref.Target.Hash,
			Branch:     ref.Name,
			Repository: e.Repository.Links.HTML.Href,
			Project:    e.Repository.FullName,
			Category:   category,
			RevLink:    ref.Target.Links.HTML.Href,
			When:       when,
			Comments:   ref.Target.Message,
			Properties: map[string]any{"event": "repo:push", "scm": e.Repository.SCM},
		})
	}
	return changes, nil
}

type bitbucketServerEvent struct {
	Date  string `json:"date"`
	Actor struct {
		Name         string `json:"name"`
		EmailAddress string `json:"emailAddress"`
		DisplayName  string `json:"displayName"`
	} `json:"actor"`
	Repository struct {
		Slug    string `json:"slug"`
		Project struct {
			Key string `json:"key"`
		} `json:"project"`
		Links struct {
			Clone []struct {
				Href string `json:"href"`
				Name string `json:"name"`
			} `json:"clone"`
			Self []struct {
				Href string `json:"href"`
			} `json:"self"`
		} `json:"links"`
	} `json:"repository"`
	Changes []struct {
		Ref struct {
			ID        string `json:"id"`
			DisplayID string `json:"displayId"`
			Type      string `json:"type"` // BRANCH, TAG
		} `json:"ref"`
		ToHash string `json:"toHash"`
		Type   string `json:"type"` // ADD, UPDATE, DELETE
	} `json:"changes"`
}

// bitbucketServerRefsChanged makes a change per added or updated ref. The
// event carries no commit details: the author is the pusher.
func bitbucketServerRefsChanged(body []byte) ([]status.Change, error) {
	var e bitbucketServerEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, badPayload("repo:refs_changed: %v", err)
	}
	when, err := parseDate("date", e.Date)
	if err != nil {
		return nil, err
	}
	repo := e.Repository.Project.Key + "/" + e.Repository.Slug
	for _, c := range e.Repository.Links.Clone {
		if c.Name == "http" || c.Name == "https" {
			repo = c.Href
		}
	}
	revlink := ""
	if len(e.Repository.Links.Self) > 0 {
		revlink = strings.TrimSuffix(e.Repository.Links.Self[0].Href, "/browse")
	}
	author := e.Actor.DisplayName
	if author == "" {
		author = e.Actor.Name
	}
	var changes []status.Change
	for _, c := range e.Changes {
		if c.Type == "DELETE" {
			continue
		}
		if c.ToHash == "" {
			return nil, badPayload("repo:refs_changed: ref %q has no toHash", c.Ref.ID)
		}
		name, tag, ok := refName(c.Ref.ID)
		if !ok {
			continue
		}
		category := ""
		if tag {
			category = "tag"
		}
		link := ""
		if revlink != "" {
			link = revlink + "/commits/" + c.ToHash
		}
		changes = append(changes, status.Change{
			Author:     person(author, e.Actor.EmailAddress),
			Revision:   c.ToHash,
			Branch:     name,
			Repository: repo,
			Project:    e.Repository.Project.Key,
			Category:   category,
			RevLink:    link,
			When:       when,
			Comments:   "Bitbucket Server " + strings.ToLower(c.Type) + " of " + c.Ref.ID,
			Properties: map[string]any{"event": "repo:refs_changed"},
		})
	}
	return changes, nil
}
