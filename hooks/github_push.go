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
	// HeadCommit is the commit the ref now points to (HasHead: not null).
	HeadCommit githubCommit
	HasHead    bool
}

type githubRepo struct {
	Name, FullName, URL, HTMLURL string
}

type githubCommit struct {
	ID, Message, Timestamp, URL string
	Distinct                    bool // true when absent
	Author, Committer           githubPerson
	Added, Removed, Modified    []string

	files []string // added, modified, removed in one slice, when the decoder laid them out so
}

type githubPerson struct {
	Name, Email string

	full string // person(Name, Email), when the decoder made it
}

// The push decoder is the hot path of a busy CI: encoding/json spends most
// of its time on the hundreds of fields (owners, avatars, API URLs) that no
// change needs, and then allocates every string separately. pushDecoder
// reads only the needed fields with jsonReader and copies their bytes into
// one arena, which becomes one string; every string of every change is a
// substring of it. A request so costs a handful of allocations whatever the
// number of commits, and the changes pin only the bytes they use.

// span is a string in the arena.
type span struct{ off, n int32 }

// fileRange is a range of pushDecoder.files.
type fileRange struct{ start, end int32 }

type commitSpans struct {
	id, message, timestamp, url span
	distinct                    bool
	author, committer           [2]span // name, email
	added, removed, modified    fileRange
}

// pushDecoder is reusable: decode resets it. Not safe for concurrent use.
type pushDecoder struct {
	d       jsonReader
	arena   []byte
	ref     span
	deleted bool
	repo    [4]span // name, full_name, url, html_url
	commits []commitSpans
	head    commitSpans
	hasHead bool
	files   []span
}

func (p *pushDecoder) str() span {
	b := p.d.strBytes()
	off := len(p.arena)
	p.arena = append(p.arena, b...)
	return span{int32(off), int32(len(b))}
}

func (p *pushDecoder) fileList() fileRange {
	start := int32(len(p.files))
	p.d.array(func() { p.files = append(p.files, p.str()) })
	return fileRange{start, int32(len(p.files))}
}

func (p *pushDecoder) person() [2]span {
	var s [2]span
	p.d.object(func(key []byte) {
		switch string(key) {
		case "name":
			s[0] = p.str()
		case "email":
			s[1] = p.str()
		default:
			p.d.skip()
		}
	})
	return s
}

// decode reads a push payload. Semantics are jsonReader's: the last
// duplicate key wins, null is the zero value.
func (p *pushDecoder) decode(data []byte) (githubPushEvent, error) {
	*p = pushDecoder{d: jsonReader{data: data, scratch: p.d.scratch[:0]}, arena: p.arena[:0], commits: p.commits[:0], files: p.files[:0]}
	d := &p.d
	d.object(func(key []byte) {
		switch string(key) {
		case "ref":
			p.ref = p.str()
		case "deleted":
			p.deleted = d.bool()
		case "repository":
			p.repo = [4]span{}
			d.object(func(key []byte) {
				switch string(key) {
				case "name":
					p.repo[0] = p.str()
				case "full_name":
					p.repo[1] = p.str()
				case "url":
					p.repo[2] = p.str()
				case "html_url":
					p.repo[3] = p.str()
				default:
					d.skip()
				}
			})
		case "commits":
			p.commits = p.commits[:0]
			d.array(func() { p.commits = append(p.commits, p.commit()) })
		case "head_commit":
			p.hasHead = !d.null()
			if p.hasHead {
				p.head = p.commit()
			}
		default:
			d.skip()
		}
	})
	if err := d.end(); err != nil {
		return githubPushEvent{}, err
	}
	return p.event(), nil
}

func (p *pushDecoder) commit() commitSpans {
	c := commitSpans{distinct: true}
	p.d.object(func(key []byte) {
		switch string(key) {
		case "id":
			c.id = p.str()
		case "message":
			c.message = p.str()
		case "timestamp":
			c.timestamp = p.str()
		case "url":
			c.url = p.str()
		case "distinct":
			c.distinct = p.d.bool()
		case "author":
			c.author = p.person()
		case "committer":
			c.committer = p.person()
		case "added":
			c.added = p.fileList()
		case "removed":
			c.removed = p.fileList()
		case "modified":
			c.modified = p.fileList()
		default:
			p.d.skip()
		}
	})
	return c
}

// event turns the spans into strings: one allocation for all the bytes, one
// for all the file names, one for the commits.
func (p *pushDecoder) event() githubPushEvent {
	// "Name <email>" of every author and committer, into the arena too.
	joined := func(c *commitSpans) [2]span { return [2]span{p.joinPerson(c.author), p.joinPerson(c.committer)} }
	full := make([][2]span, len(p.commits)+1)
	for i := range p.commits {
		full[i] = joined(&p.commits[i])
	}
	if p.hasHead {
		full[len(p.commits)] = joined(&p.head)
	}
	all := string(p.arena)
	s := func(sp span) string { return all[sp.off : sp.off+sp.n] }
	nfiles := 0
	count := func(c *commitSpans) int {
		return int(c.added.end-c.added.start) + int(c.modified.end-c.modified.start) + int(c.removed.end-c.removed.start)
	}
	for i := range p.commits {
		nfiles += count(&p.commits[i])
	}
	if p.hasHead {
		nfiles += count(&p.head)
	}
	files := make([]string, 0, nfiles)
	list := func(r fileRange) []string {
		start := len(files)
		for _, sp := range p.files[r.start:r.end] {
			files = append(files, s(sp))
		}
		if len(files) == start {
			return nil
		}
		return files[start:len(files):len(files)]
	}
	commit := func(c *commitSpans, full [2]span) githubCommit {
		start := len(files)
		gc := githubCommit{
			ID: s(c.id), Message: s(c.message), Timestamp: s(c.timestamp), URL: s(c.url),
			Distinct:  c.distinct,
			Author:    githubPerson{Name: s(c.author[0]), Email: s(c.author[1]), full: s(full[0])},
			Committer: githubPerson{Name: s(c.committer[0]), Email: s(c.committer[1]), full: s(full[1])},
			// Laid out in change order, so a change's Files is a subslice.
			Added:    list(c.added),
			Modified: list(c.modified),
			Removed:  list(c.removed),
		}
		gc.files = files[start:len(files):len(files)]
		return gc
	}
	e := githubPushEvent{
		Ref:        s(p.ref),
		Deleted:    p.deleted,
		Repository: githubRepo{Name: s(p.repo[0]), FullName: s(p.repo[1]), URL: s(p.repo[2]), HTMLURL: s(p.repo[3])},
		HasHead:    p.hasHead,
	}
	if len(p.commits) > 0 {
		e.Commits = make([]githubCommit, len(p.commits))
	}
	for i := range p.commits {
		e.Commits[i] = commit(&p.commits[i], full[i])
	}
	if p.hasHead {
		e.HeadCommit = commit(&p.head, full[len(p.commits)])
	}
	return e
}

// joinPerson appends person(name, email) to the arena.
func (p *pushDecoder) joinPerson(s [2]span) span {
	name, email := s[0], s[1]
	off := len(p.arena)
	switch {
	case email.n == 0:
		return name
	case name.n == 0:
		p.arena = append(p.arena, '<')
	default:
		p.arena = append(p.arena, p.arena[name.off:name.off+name.n]...)
		p.arena = append(p.arena, " <"...)
	}
	p.arena = append(p.arena, p.arena[email.off:email.off+email.n]...)
	p.arena = append(p.arena, '>')
	return span{int32(off), int32(len(p.arena) - off)}
}

// decodeGitHubPush decodes a push with a fresh decoder.
func decodeGitHubPush(data []byte) (githubPushEvent, error) {
	var p pushDecoder
	return p.decode(data)
}

// push makes one change per distinct commit of a branch or tag push, as
// Buildbot 0.8.12 does; deletions make none. Non-distinct commits (already
// pushed to another branch) are skipped: they were built then.
func (g *GitHub) push(payload []byte) ([]status.Change, error) {
	p, _ := g.decoders.Get().(*pushDecoder)
	if p == nil {
		p = new(pushDecoder)
	}
	e, err := p.decode(payload)
	// Keep the buffers for the next push, but not the payload, nor buffers
	// grown by a huge one.
	p.d.data = nil
	if cap(p.arena) <= 1<<20 && cap(p.files) <= 1<<14 && cap(p.commits) <= 1<<12 {
		g.decoders.Put(p)
	}
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
	changes := make([]status.Change, 0, len(e.Commits))
	for i := range e.Commits {
		if !e.Commits[i].Distinct {
			continue
		}
		c, err := e.change(&e.Commits[i], name, tag)
		if err != nil {
			return nil, err
		}
		changes = append(changes, c)
	}
	// A tag of a commit pushed before lists no commit: build its head, or
	// release builds would never start.
	if tag && len(changes) == 0 && e.HasHead {
		c, err := e.change(&e.HeadCommit, name, tag)
		if err != nil {
			return nil, err
		}
		changes = append(changes, c)
	}
	return changes, nil
}

func (e *githubPushEvent) change(c *githubCommit, branch string, tag bool) (status.Change, error) {
	if c.ID == "" {
		return status.Change{}, badPayload("push: a commit has no id")
	}
	when, err := parseDate("commit timestamp", c.Timestamp)
	if err != nil {
		return status.Change{}, err
	}
	files := c.files
	if files == nil {
		files = make([]string, 0, len(c.Added)+len(c.Modified)+len(c.Removed))
		files = append(append(append(files, c.Added...), c.Modified...), c.Removed...)
	}
	category, repo := "", e.Repository.URL
	if tag {
		category = "tag"
	}
	if repo == "" {
		repo = e.Repository.HTMLURL
	}
	return status.Change{
		Author:     c.Author.String(),
		Committer:  c.Committer.String(),
		Revision:   c.ID,
		Branch:     branch,
		Repository: repo,
		Project:    e.Repository.FullName,
		Category:   category,
		RevLink:    c.URL,
		When:       when,
		Files:      files,
		Comments:   c.Message,
	}, nil
}

// String is "Name <email>".
func (p githubPerson) String() string {
	if p.full != "" || (p.Name == "" && p.Email == "") {
		return p.full
	}
	return person(p.Name, p.Email)
}
