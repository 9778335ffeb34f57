package hooks

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/heraldci/herald/status"
)

// Bitbucket is the bitbucket dialect. What it decodes is chosen by the
// content type first, then by the X-Event-Key header:
//   - a form (application/x-www-form-urlencoded): the POST service of
//     Buildbot 0.8.12's days, a payload= field, one change per commit;
//   - Bitbucket Cloud's repo:push, one change per updated branch or tag at
//     its new head; pullrequest:created and pullrequest:updated, one change
//     for the source branch's head; pullrequest:fulfilled, one change for
//     the destination branch;
//   - Bitbucket Server / Data Center's native webhooks: repo:refs_changed,
//     one change per added or updated branch or tag; pr:opened and
//     pr:from_ref_updated, one change for the pull request's head on
//     refs/pull-requests/N/merge; pr:merged, one change on the target
//     branch. diagnostics:ping is acknowledged.
//
// Pull request changes carry the pull request in their properties
// (pullrequesturl as Buildbot, and bitbucket.*). A push that should make
// changes but names no branch or tag is refused (400), never acknowledged
// with none. ?project= sets the project of every change.
//
// Pass it by pointer and leave its fields alone once New has it.
type Bitbucket struct {
	// Secret, when set, checks the X-Hub-Signature (sha256=HEX) that
	// Bitbucket Server and Cloud webhooks send when given a secret.
	Secret status.Secret
	// Strict rejects requests without X-Hub-Signature before their body is
	// read; it requires Secret (and rules out the unsigned POST service).
	Strict bool
	// Codebase is set on every change.
	Codebase string

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

// checkHeaders checks the content type, and that a signature is present
// when Strict.
func (b *Bitbucket) checkHeaders(r *http.Request) error {
	if _, err := (&Request{HTTP: r}).RequireMediaType("application/json", "application/x-www-form-urlencoded"); err != nil {
		return err
	}
	if b.Strict && r.Header.Get("X-Hub-Signature") == "" {
		return Reject(http.StatusForbidden, "unsigned request: configure the webhook secret on Bitbucket")
	}
	return nil
}

// Parse checks the signature, then decodes the payload.
func (b *Bitbucket) Parse(r *Request) ([]status.Change, error) {
	b.setup()
	if err := b.checkHeaders(r.HTTP); err != nil {
		return nil, err
	}
	if sig := r.HTTP.Header.Get("X-Hub-Signature"); b.signer != nil && sig != "" {
		if err := hubSignature(b.signer, r.Payload, sig, "X-Hub-Signature", "sha256"); err != nil {
			return nil, err
		}
	}
	var (
		changes []status.Change
		err     error
	)
	key := r.HTTP.Header.Get("X-Event-Key")
	switch {
	case r.MediaType() == "application/x-www-form-urlencoded":
		changes, err = bitbucketPOSTService(r.Payload)
	case key == "repo:push":
		changes, err = bitbucketCloudPush(r.Payload)
	case key == "pullrequest:created", key == "pullrequest:updated", key == "pullrequest:fulfilled":
		changes, err = bitbucketCloudPullRequest(key, r.Payload)
	case key == "repo:refs_changed":
		changes, err = bitbucketServerRefsChanged(r.Payload)
	case key == "pr:opened", key == "pr:from_ref_updated", key == "pr:merged":
		changes, err = bitbucketServerPullRequest(key, r.Payload)
	case key == "diagnostics:ping":
		return nil, Ignored("ping")
	case key == "":
		return nil, Reject(http.StatusBadRequest, "JSON payload without X-Event-Key header: is this a Bitbucket webhook?")
	default:
		return nil, Ignored("event %q is not handled", key)
	}
	if err != nil {
		return nil, err
	}
	project := r.Query().Get("project")
	for i := range changes {
		if project != "" {
			changes[i].Project = project
		}
		if b.Codebase != "" {
			changes[i].Codebase = b.Codebase
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
	if err := decodeJSON(payload, &p); err != nil {
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
	if err := decodeJSON(body, &e); err != nil {
		return nil, badPayload("repo:push: %v", err)
	}
	if len(e.Push.Changes) == 0 {
		return nil, badPayload("repo:push lists no changed ref")
	}
	var changes []status.Change
	for _, ch := range e.Push.Changes {
		ref := ch.New
		if ref == nil {
			continue
		}
		if ref.Type != "branch" && ref.Type != "tag" && ref.Type != "named_branch" && ref.Type != "bookmark" {
			return nil, badPayload("repo:push: ref %q has type %q, not a branch or tag", ref.Name, ref.Type)
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
	if len(changes) == 0 {
		return nil, Ignored("repo:push only deletes refs")
	}
	return changes, nil
}

type bitbucketServerUser struct {
	Name         string `json:"name"`
	EmailAddress string `json:"emailAddress"`
	DisplayName  string `json:"displayName"`
}

func (u *bitbucketServerUser) String() string {
	return person(cmp.Or(u.DisplayName, u.Name), u.EmailAddress)
}

type bitbucketServerRepo struct {
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
}

// cloneURL is the http(s) clone link, else PROJECT/slug.
func (r *bitbucketServerRepo) cloneURL() string {
	for _, c := range r.Links.Clone {
		if c.Name == "http" || c.Name == "https" {
			return c.Href
		}
	}
	return r.Project.Key + "/" + r.Slug
}

// browseURL is the repository's web page without /browse, or "".
func (r *bitbucketServerRepo) browseURL() string {
	if len(r.Links.Self) == 0 {
		return ""
	}
	return strings.TrimSuffix(r.Links.Self[0].Href, "/browse")
}

type bitbucketServerEvent struct {
	Date       string              `json:"date"`
	Actor      bitbucketServerUser `json:"actor"`
	Repository bitbucketServerRepo `json:"repository"`
	Changes    []struct {
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
	if err := decodeJSON(body, &e); err != nil {
		return nil, badPayload("repo:refs_changed: %v", err)
	}
	when, err := parseDate("date", e.Date)
	if err != nil {
		return nil, err
	}
	if len(e.Changes) == 0 {
		return nil, badPayload("repo:refs_changed lists no changed ref")
	}
	repo, revlink := e.Repository.cloneURL(), e.Repository.browseURL()
	var changes []status.Change
	deleted := 0
	for _, c := range e.Changes {
		if c.Type == "DELETE" {
			deleted++
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
			Author:     e.Actor.String(),
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
	switch {
	case len(changes) > 0:
		return changes, nil
	case deleted == len(e.Changes):
		return nil, Ignored("repo:refs_changed only deletes refs")
	}
	ids := make([]string, 0, len(e.Changes))
	for _, c := range e.Changes {
		ids = append(ids, strconv.Quote(c.Ref.ID))
	}
	return nil, badPayload("repo:refs_changed names no branch or tag (refs %s)", strings.Join(ids, ", "))
}

type bitbucketServerRef struct {
	ID           string              `json:"id"`
	DisplayID    string              `json:"displayId"`
	LatestCommit string              `json:"latestCommit"`
	Repository   bitbucketServerRepo `json:"repository"`
}

type bitbucketServerPREvent struct {
	Date        string              `json:"date"`
	Actor       bitbucketServerUser `json:"actor"`
	PullRequest struct {
		ID          int    `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description"`
		State       string `json:"state"`
		Author      struct {
			User bitbucketServerUser `json:"user"`
		} `json:"author"`
		FromRef bitbucketServerRef `json:"fromRef"`
		ToRef   bitbucketServerRef `json:"toRef"`
		Links   struct {
			Self []struct {
				Href string `json:"href"`
			} `json:"self"`
		} `json:"links"`
		Properties struct {
			MergeCommit struct {
				ID string `json:"id"`
			} `json:"mergeCommit"`
		} `json:"properties"`
	} `json:"pullRequest"`
	PreviousFromHash string `json:"previousFromHash"`
}

// bitbucketServerPullRequest makes the change of a native pull request
// event: opened or updated, the head on refs/pull-requests/N/merge; merged,
// the target branch at the merge commit.
func bitbucketServerPullRequest(key string, body []byte) ([]status.Change, error) {
	var e bitbucketServerPREvent
	if err := decodeJSON(body, &e); err != nil {
		return nil, badPayload("%s: %v", key, err)
	}
	pr := &e.PullRequest
	if pr.ID <= 0 || pr.FromRef.LatestCommit == "" || pr.ToRef.ID == "" {
		return nil, badPayload("%s: pull request without id, fromRef.latestCommit or toRef.id", key)
	}
	when, err := parseDate("date", e.Date)
	if err != nil {
		return nil, err
	}
	url := ""
	if len(pr.Links.Self) > 0 {
		url = pr.Links.Self[0].Href
	}
	c := status.Change{
		Author:     e.Actor.String(),
		Revision:   pr.FromRef.LatestCommit,
		Branch:     "refs/pull-requests/" + strconv.Itoa(pr.ID) + "/merge",
		Repository: pr.ToRef.Repository.cloneURL(),
		Project:    pr.ToRef.Repository.Project.Key,
		Category:   "pull",
		RevLink:    url,
		When:       when,
		Comments:   "pull-request #" + strconv.Itoa(pr.ID) + ": " + pr.Title + "\n" + url,
		Properties: map[string]any{
			"event":                        key,
			"pullrequesturl":               url,
			"bitbucket.pr.id":              pr.ID,
			"bitbucket.pr.title":           pr.Title,
			"bitbucket.pr.state":           pr.State,
			"bitbucket.pr.author":          pr.Author.User.String(),
			"bitbucket.source.branch":      pr.FromRef.DisplayID,
			"bitbucket.source.commit":      pr.FromRef.LatestCommit,
			"bitbucket.source.repository":  pr.FromRef.Repository.cloneURL(),
			"bitbucket.target.branch":      pr.ToRef.DisplayID,
			"bitbucket.target.commit":      pr.ToRef.LatestCommit,
			"bitbucket.target.repository":  pr.ToRef.Repository.cloneURL(),
			"bitbucket.previous_from_hash": e.PreviousFromHash,
		},
	}
	if key == "pr:merged" {
		name, _, ok := refName(pr.ToRef.ID)
		if !ok {
			return nil, badPayload("pr:merged: target %q is not a branch", pr.ToRef.ID)
		}
		c.Branch = name
		c.Category = "pull-fulfilled"
		if m := pr.Properties.MergeCommit.ID; m != "" {
			c.Revision = m
		}
	}
	return []status.Change{c}, nil
}

type bitbucketCloudBranch struct {
	Branch struct {
		Name string `json:"name"`
	} `json:"branch"`
	Commit struct {
		Hash string `json:"hash"`
	} `json:"commit"`
	Repository struct {
		FullName string `json:"full_name"`
		Links    struct {
			HTML struct {
				Href string `json:"href"`
			} `json:"html"`
		} `json:"links"`
	} `json:"repository"`
}

type bitbucketCloudPREvent struct {
	Actor struct {
		DisplayName string `json:"display_name"`
		Nickname    string `json:"nickname"`
	} `json:"actor"`
	PullRequest struct {
		ID          int                  `json:"id"`
		Title       string               `json:"title"`
		Description string               `json:"description"`
		State       string               `json:"state"`
		UpdatedOn   string               `json:"updated_on"`
		Source      bitbucketCloudBranch `json:"source"`
		Destination bitbucketCloudBranch `json:"destination"`
		MergeCommit *struct {
			Hash string `json:"hash"`
		} `json:"merge_commit"`
		Links struct {
			HTML struct {
				Href string `json:"href"`
			} `json:"html"`
		} `json:"links"`
	} `json:"pullrequest"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
}

// bitbucketCloudPullRequest makes the change of a Cloud pull request event:
// created or updated, the source branch at its head commit (Cloud has no
// pull request refs); fulfilled, the destination branch at the merge commit.
func bitbucketCloudPullRequest(key string, body []byte) ([]status.Change, error) {
	var e bitbucketCloudPREvent
	if err := decodeJSON(body, &e); err != nil {
		return nil, badPayload("%s: %v", key, err)
	}
	pr := &e.PullRequest
	if pr.ID <= 0 || pr.Source.Commit.Hash == "" || pr.Source.Branch.Name == "" {
		return nil, badPayload("%s: pull request without id or source branch and commit", key)
	}
	when, err := parseDate("pullrequest.updated_on", pr.UpdatedOn)
	if err != nil {
		return nil, err
	}
	url := pr.Links.HTML.Href
	c := status.Change{
		Author:     cmp.Or(e.Actor.DisplayName, e.Actor.Nickname),
		Revision:   pr.Source.Commit.Hash,
		Branch:     pr.Source.Branch.Name,
		Repository: pr.Source.Repository.Links.HTML.Href,
		Project:    cmp.Or(pr.Destination.Repository.FullName, e.Repository.FullName),
		Category:   "pull",
		RevLink:    url,
		When:       when,
		Comments:   "pull-request #" + strconv.Itoa(pr.ID) + ": " + pr.Title + "\n" + url,
		Properties: map[string]any{
			"event":                       key,
			"pullrequesturl":              url,
			"bitbucket.pr.id":             pr.ID,
			"bitbucket.pr.title":          pr.Title,
			"bitbucket.pr.state":          pr.State,
			"bitbucket.source.branch":     pr.Source.Branch.Name,
			"bitbucket.source.commit":     pr.Source.Commit.Hash,
			"bitbucket.source.repository": pr.Source.Repository.Links.HTML.Href,
			"bitbucket.target.branch":     pr.Destination.Branch.Name,
			"bitbucket.target.commit":     pr.Destination.Commit.Hash,
			"bitbucket.target.repository": pr.Destination.Repository.Links.HTML.Href,
		},
	}
	if key == "pullrequest:fulfilled" {
		if pr.Destination.Branch.Name == "" {
			return nil, badPayload("%s: pull request without destination branch", key)
		}
		c.Branch = pr.Destination.Branch.Name
		c.Repository = pr.Destination.Repository.Links.HTML.Href
		c.Category = "pull-fulfilled"
		if pr.MergeCommit != nil && pr.MergeCommit.Hash != "" {
			c.Revision = pr.MergeCommit.Hash
		}
	}
	return []status.Change{c}, nil
}
