// Package wire is the versioned form of a Herald event between processes
// (package bus on NATS, package stream's clients). It is its own small set
// of types with their own JSON names, so renaming a field of the core model
// in package status cannot silently change what other machines read: the
// shape test fails until the wire types are changed on purpose.
//
// Compatibility: readers ignore fields they do not know, and a writer never
// changes the meaning of a name; a change that cannot be read by the last
// release's readers bumps Version.
package wire

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/heraldci/herald/status"
)

// Version is the wire version this package writes and the newest it reads.
const Version = 1

// ErrNewer is an event written by a newer release than this reader.
var ErrNewer = errors.New("wire: event newer than this reader")

// Event is one event on the wire.
type Event struct {
	V        int       `json:"v"`
	ID       string    `json:"id,omitempty"`
	Kind     string    `json:"kind"`
	Time     time.Time `json:"time"`
	Seq      uint64    `json:"seq"`
	Master   string    `json:"master,omitempty"`
	Skipped  int       `json:"skipped,omitzero"`
	Builder  *Builder  `json:"builder,omitempty"`
	Build    *Build    `json:"build,omitempty"`
	Step     *Step     `json:"step,omitempty"`
	Log      *Log      `json:"log,omitempty"`
	Chunk    string    `json:"chunk,omitempty"`
	BuildSet *BuildSet `json:"buildset,omitempty"`
	Request  *Request  `json:"request,omitempty"`
	Change   *Change   `json:"change,omitempty"`
	Worker   *Worker   `json:"worker,omitempty"`
}

// Builder is status.Builder on the wire.
type Builder struct {
	Name        string   `json:"name"`
	Tags        []string `json:"tags,omitempty"`
	Description string   `json:"description,omitempty"`
	State       string   `json:"state"`
	Workers     []string `json:"workers,omitempty"`
	Pending     int      `json:"pending"`
	Master      string   `json:"master,omitempty"`
}

// Build is status.Build on the wire.
type Build struct {
	Builder    string         `json:"builder"`
	Number     int            `json:"number"`
	Tags       []string       `json:"tags,omitempty"`
	Worker     string         `json:"worker,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Result     string         `json:"result"`
	Text       []string       `json:"text,omitempty"`
	Started    time.Time      `json:"started"`
	Finished   *time.Time     `json:"finished,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
	Sources    []Source       `json:"sources,omitempty"`
	Steps      []Step         `json:"steps,omitempty"`
	Blamelist  []string       `json:"blamelist,omitempty"`
	URL        string         `json:"url,omitempty"`
	BuildSetID string         `json:"buildset_id,omitempty"`
	Master     string         `json:"master,omitempty"`
}

// Step is status.Step on the wire.
type Step struct {
	Name     string     `json:"name"`
	Number   int        `json:"number"`
	Result   string     `json:"result"`
	Text     []string   `json:"text,omitempty"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
	Logs     []Log      `json:"logs,omitempty"`
	URLs     []Link     `json:"urls,omitempty"`
}

// Log is status.LogRef on the wire.
type Log struct {
	Builder string `json:"builder"`
	Build   int    `json:"build"`
	Step    string `json:"step"`
	Name    string `json:"name"`
	Size    int64  `json:"size"`
}

// Link is status.Link on the wire.
type Link struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Source is status.SourceStamp on the wire.
type Source struct {
	Codebase   string   `json:"codebase,omitempty"`
	Repository string   `json:"repository,omitempty"`
	Project    string   `json:"project,omitempty"`
	Branch     string   `json:"branch,omitempty"`
	Revision   string   `json:"revision,omitempty"`
	Patch      *Patch   `json:"patch,omitempty"`
	Changes    []Change `json:"changes,omitempty"`
}

// Patch is status.Patch on the wire.
type Patch struct {
	Level   int    `json:"level"`
	Body    []byte `json:"body"`
	Subdir  string `json:"subdir,omitempty"`
	Author  string `json:"author,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// Change is status.Change on the wire.
type Change struct {
	ID         int64          `json:"id"`
	Author     string         `json:"author"`
	Committer  string         `json:"committer,omitempty"`
	Revision   string         `json:"revision,omitempty"`
	Branch     string         `json:"branch,omitempty"`
	Repository string         `json:"repository,omitempty"`
	Project    string         `json:"project,omitempty"`
	Codebase   string         `json:"codebase,omitempty"`
	Category   string         `json:"category,omitempty"`
	RevLink    string         `json:"revlink,omitempty"`
	When       time.Time      `json:"when"`
	Files      []string       `json:"files,omitempty"`
	Comments   string         `json:"comments,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
}

// BuildSet is status.BuildSet on the wire.
type BuildSet struct {
	ID         string         `json:"id"`
	Reason     string         `json:"reason,omitempty"`
	Sources    []Source       `json:"sources,omitempty"`
	Builders   []string       `json:"builders"`
	Properties map[string]any `json:"properties,omitempty"`
	Submitted  time.Time      `json:"submitted"`
	Finished   *time.Time     `json:"finished,omitempty"`
	Result     string         `json:"result"`
	Builds     []*Build       `json:"builds,omitempty"`
}

// Request is status.BuildRequest on the wire.
type Request struct {
	ID         string         `json:"id"`
	BuildSetID string         `json:"buildset_id,omitempty"`
	Builder    string         `json:"builder"`
	Reason     string         `json:"reason,omitempty"`
	Submitted  time.Time      `json:"submitted"`
	Sources    []Source       `json:"sources,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
	Priority   int            `json:"priority,omitzero"`
}

// Worker is status.Worker on the wire.
type Worker struct {
	Name      string            `json:"name"`
	Host      string            `json:"host,omitempty"`
	Admin     string            `json:"admin,omitempty"`
	Version   string            `json:"version,omitempty"`
	Info      map[string]string `json:"info,omitempty"`
	Connected bool              `json:"connected"`
	Paused    bool              `json:"paused"`
	Builders  []string          `json:"builders,omitempty"`
	LastSeen  time.Time         `json:"last_seen"`
	Master    string            `json:"master,omitempty"`
}

// encodeOptions are encoding/json's behaviour on the JSON v2 engine (the
// module form of Go's encoding/json/v2): host values in Properties — a
// time.Duration, a [N]byte, a type with MarshalJSON — encode as they
// always did, nil slices and maps are null, map keys are sorted so equal
// events encode alike, and invalid UTF-8 in a string (a log chunk of
// binary output) becomes U+FFFD. Only the escaping of <, > and & for
// HTML, which no reader of the wire needs, is left out.
var encodeOptions = json.JoinOptions(
	jsonv1.DefaultOptionsV1(),
	json.Deterministic(true),
	jsontext.EscapeForHTML(false),
	jsontext.EscapeForJS(false),
)

// decodeOptions read stricter than encoding/json, and about twice as
// fast: names match exactly, a name given twice is refused, and invalid
// UTF-8 becomes U+FFFD.
var decodeOptions = jsontext.AllowInvalidUTF8(true)

// Marshal encodes e in the wire form.
func Marshal(e status.Event) ([]byte, error) {
	return json.Marshal(FromStatus(e), encodeOptions)
}

// Unmarshal decodes an event in the wire form. An unknown kind or result,
// or a version newer than this package reads, is an error.
func Unmarshal(data []byte) (status.Event, error) {
	var w Event
	if err := json.Unmarshal(data, &w, decodeOptions); err != nil {
		return status.Event{}, fmt.Errorf("wire: %w", err)
	}
	return w.ToStatus()
}
