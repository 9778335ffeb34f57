package status

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The model is plain data. Values reachable from a published Event are treated
// as immutable: a host publishes fresh values (or Clone()s) for every event and
// never mutates what it has handed over, so reporters may keep pointers.

// Change is one source change: a commit, a patch set, a pull request head.
// Package hooks produces Changes from webhooks; builds carry them in their
// source stamps. One model both ways.
type Change struct {
	ID         int64     `json:"number"`
	Author     string    `json:"who"` // "Name <email>" as the VCS gives it
	Committer  string    `json:"committer,omitempty"`
	Revision   string    `json:"rev"`
	Branch     string    `json:"branch"`
	Repository string    `json:"repository"`
	Project    string    `json:"project"`
	Codebase   string    `json:"codebase"`
	Category   string    `json:"category,omitempty"`
	RevLink    string    `json:"revlink,omitempty"`
	When       time.Time `json:"when"`
	Files      []string  `json:"files"`
	Comments   string    `json:"comments"`
	// Properties are the change's own properties (e.g. github_distinct,
	// event.change.number from Gerrit). Values are JSON-compatible.
	Properties map[string]any `json:"properties,omitempty"`
}

// Clone returns a deep copy of c (property values are copied shallowly).
func (c Change) Clone() Change {
	c.Files = slices.Clone(c.Files)
	c.Properties = maps.Clone(c.Properties)
	return c
}

// Patch is a patch applied on top of a revision (try builds).
type Patch struct {
	Level   int    `json:"level"`
	Body    []byte `json:"body"`
	Subdir  string `json:"subdir,omitempty"`
	Author  string `json:"author,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// SourceStamp is the source of one codebase of a build.
type SourceStamp struct {
	Codebase   string   `json:"codebase"`
	Repository string   `json:"repository"`
	Project    string   `json:"project"`
	Branch     string   `json:"branch"`
	Revision   string   `json:"revision"`
	Patch      *Patch   `json:"patch,omitempty"`
	Changes    []Change `json:"changes,omitempty"`
}

// Clone returns a deep copy of s.
func (s SourceStamp) Clone() SourceStamp {
	if s.Patch != nil {
		p := *s.Patch
		p.Body = slices.Clone(p.Body)
		s.Patch = &p
	}
	if s.Changes != nil {
		cs := make([]Change, len(s.Changes))
		for i, c := range s.Changes {
			cs[i] = c.Clone()
		}
		s.Changes = cs
	}
	return s
}

// Link is a named URL attached to a step (coverage report, artifact...).
type Link struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// LogRef names a log of a step. Log contents are never copied into events:
// read them through History.Log.
type LogRef struct {
	Builder string `json:"builder"`
	Build   int    `json:"build"`
	Step    string `json:"step"`
	Name    string `json:"name"`
	Size    int64  `json:"size"`
}

// Step is one step of a build.
type Step struct {
	Name     string    `json:"name"`
	Number   int       `json:"number"`
	Result   Result    `json:"results"` // meaningful once Finished is set
	Text     []string  `json:"text"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"` // zero while running
	Logs     []LogRef  `json:"logs,omitempty"`
	URLs     []Link    `json:"urls,omitempty"`
}

// Done reports whether the step has finished.
func (s *Step) Done() bool { return !s.Finished.IsZero() }

// Build is one build of a builder.
type Build struct {
	Builder    string         `json:"builderName"`
	Number     int            `json:"number"`
	Tags       []string       `json:"tags,omitempty"` // the builder's tags
	Worker     string         `json:"slave"`
	Reason     string         `json:"reason"`
	Result     Result         `json:"results"` // meaningful once Finished is set
	Text       []string       `json:"text"`
	Started    time.Time      `json:"started"`
	Finished   time.Time      `json:"finished"` // zero while running
	Properties map[string]any `json:"properties,omitempty"`
	Sources    []SourceStamp  `json:"sourceStamps,omitempty"`
	Steps      []Step         `json:"steps,omitempty"`
	// Blamelist lists the users responsible for the build's changes, as the
	// VCS names them ("Name <email>"); mail and IRC notify them.
	Blamelist  []string `json:"blame,omitempty"`
	URL        string   `json:"url,omitempty"` // the build's page, if the host has one
	BuildSetID string   `json:"buildsetid,omitempty"`
	Master     string   `json:"master,omitempty"`
}

// Done reports whether the build has finished.
func (b *Build) Done() bool { return !b.Finished.IsZero() }

// Summary describes the build in one sentence for commit statuses and
// notifications: "Build #7 started.", "Build #7 succeeded." or, for other
// results, "Build #7 failed: failed test" with the build's text.
func (b *Build) Summary() string {
	if !b.Done() {
		return fmt.Sprintf("Build #%d started.", b.Number)
	}
	var verb string
	switch b.Result {
	case Success:
		verb = "succeeded"
	case Warnings:
		verb = "succeeded with warnings"
	case Failure:
		verb = "failed"
	case Skipped:
		verb = "was skipped"
	case Exception:
		verb = "hit an exception"
	case Retry:
		verb = "will be retried"
	case Cancelled:
		verb = "was cancelled"
	default:
		verb = "finished: " + b.Result.String()
	}
	d := fmt.Sprintf("Build #%d %s", b.Number, verb)
	if b.Result != Success && len(b.Text) > 0 {
		return d + ": " + strings.Join(b.Text, " ")
	}
	return d + "."
}

// Source returns the source stamp of the given codebase ("" is the default
// codebase, which matches the first stamp when none is named ""), or nil.
func (b *Build) Source(codebase string) *SourceStamp {
	for i := range b.Sources {
		if b.Sources[i].Codebase == codebase {
			return &b.Sources[i]
		}
	}
	if codebase == "" && len(b.Sources) > 0 {
		return &b.Sources[0]
	}
	return nil
}

// Changes returns every change of every source stamp of b.
func (b *Build) Changes() []Change {
	var cs []Change
	for _, s := range b.Sources {
		cs = append(cs, s.Changes...)
	}
	return cs
}

// Property returns the named build property, or nil.
func (b *Build) Property(name string) any {
	if b == nil {
		return nil
	}
	return b.Properties[name]
}

// HasTag reports whether the build's builder carries one of tags.
func (b *Build) HasTag(tags ...string) bool {
	for _, t := range tags {
		if slices.Contains(b.Tags, t) {
			return true
		}
	}
	return false
}

// Clone returns a deep copy of b (property values are copied shallowly).
func (b *Build) Clone() *Build {
	if b == nil {
		return nil
	}
	c := *b
	c.Tags = slices.Clone(b.Tags)
	c.Text = slices.Clone(b.Text)
	c.Properties = maps.Clone(b.Properties)
	c.Blamelist = slices.Clone(b.Blamelist)
	if b.Sources != nil {
		c.Sources = make([]SourceStamp, len(b.Sources))
		for i, s := range b.Sources {
			c.Sources[i] = s.Clone()
		}
	}
	if b.Steps != nil {
		c.Steps = make([]Step, len(b.Steps))
		for i, s := range b.Steps {
			s.Text = slices.Clone(s.Text)
			s.Logs = slices.Clone(s.Logs)
			s.URLs = slices.Clone(s.URLs)
			c.Steps[i] = s
		}
	}
	return &c
}

// BuildSet is a set of build requests submitted together (one per builder),
// for example by one change or one force.
type BuildSet struct {
	ID         string         `json:"bsid"`
	Reason     string         `json:"reason"`
	Sources    []SourceStamp  `json:"sourceStamps,omitempty"`
	Builders   []string       `json:"builderNames"`
	Properties map[string]any `json:"properties,omitempty"`
	Submitted  time.Time      `json:"submitted"`
	Finished   time.Time      `json:"finished"` // zero until every build finished
	Result     Result         `json:"results"`
	// Builds lists the builds of the set, filled when it finishes.
	Builds []*Build `json:"builds,omitempty"`
}

// BuildRequest is a pending request for a build on one builder.
type BuildRequest struct {
	ID         string         `json:"brid"`
	BuildSetID string         `json:"bsid"`
	Builder    string         `json:"builderName"`
	Reason     string         `json:"reason"`
	Submitted  time.Time      `json:"submitted"`
	Sources    []SourceStamp  `json:"sourceStamps,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
	Priority   int            `json:"priority,omitempty"`
}

// BuilderState says what a builder is doing.
type BuilderState int

const (
	Idle BuilderState = iota
	Building
	Offline
)

var builderStates = [...]string{"idle", "building", "offline"}

func (s BuilderState) String() string {
	if s >= 0 && int(s) < len(builderStates) {
		return builderStates[s]
	}
	return "unknown"
}

// MarshalText encodes the state by name.
func (s BuilderState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state name.
func (s *BuilderState) UnmarshalText(b []byte) error {
	for i, n := range builderStates {
		if string(b) == n {
			*s = BuilderState(i)
			return nil
		}
	}
	return &ParseError{What: "builder state", Input: string(b)}
}

// Builder is a configured builder.
type Builder struct {
	Name        string       `json:"name"`
	Tags        []string     `json:"tags,omitempty"`
	Description string       `json:"description,omitempty"`
	State       BuilderState `json:"state"`
	Workers     []string     `json:"slaves,omitempty"`
	Pending     int          `json:"pendingBuilds"`
	Master      string       `json:"master,omitempty"`
}

// HasTag reports whether the builder carries one of tags.
func (b *Builder) HasTag(tags ...string) bool {
	for _, t := range tags {
		if slices.Contains(b.Tags, t) {
			return true
		}
	}
	return false
}

// Worker is a build worker (Buildbot 0.8's "buildslave").
type Worker struct {
	Name      string            `json:"name"`
	Host      string            `json:"host,omitempty"`
	Admin     string            `json:"admin,omitempty"`
	Version   string            `json:"version,omitempty"`
	Info      map[string]string `json:"info,omitempty"`
	Connected bool              `json:"connected"`
	Paused    bool              `json:"paused"`
	Builders  []string          `json:"builders,omitempty"`
	LastSeen  time.Time         `json:"lastSeen"`
	Master    string            `json:"master,omitempty"`
}

// User is a person known to the host: a committer, a web user, an IRC nick.
type User struct {
	ID       int64  `json:"uid"`
	Name     string `json:"identifier"` // the VCS or login name
	FullName string `json:"fullName,omitempty"`
	Email    string `json:"email,omitempty"`
	IRC      string `json:"irc,omitempty"`
	// Attributes holds further identifiers (e.g. "git": "Name <email>").
	Attributes map[string]string `json:"attributes,omitempty"`
}
