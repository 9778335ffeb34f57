package status

import (
	"fmt"
	"time"
)

// Kind says what happened. The kinds cover everything Buildbot's StatusPush
// emitted.
type Kind int

const (
	BuilderAdded       Kind = iota + 1 // Builder
	BuilderChanged                     // Builder (state, pending count, workers)
	BuilderRemoved                     // Builder
	RequestSubmitted                   // Request
	RequestCancelled                   // Request
	BuildSetSubmitted                  // BuildSet
	BuildSetFinished                   // BuildSet, with Result, Finished and Builds set
	BuildStarted                       // Build
	BuildFinished                      // Build, with Result and Finished set
	StepStarted                        // Build (so far), Step
	StepTextChanged                    // Build (so far), Step
	StepFinished                       // Build (so far), Step
	LogStarted                         // Build (so far), Step, Log
	LogAppended                        // Build (so far), Step, Log, Chunk
	LogFinished                        // Build (so far), Step, Log
	ChangeAdded                        // Change
	WorkerConnected                    // Worker
	WorkerDisconnected                 // Worker
	MasterStarted                      // no subject
	MasterStopping                     // no subject
)

var kindNames = [...]string{
	BuilderAdded:       "builderAdded",
	BuilderChanged:     "builderChanged",
	BuilderRemoved:     "builderRemoved",
	RequestSubmitted:   "requestSubmitted",
	RequestCancelled:   "requestCancelled",
	BuildSetSubmitted:  "buildsetSubmitted",
	BuildSetFinished:   "buildsetFinished",
	BuildStarted:       "buildStarted",
	BuildFinished:      "buildFinished",
	StepStarted:        "stepStarted",
	StepTextChanged:    "stepTextChanged",
	StepFinished:       "stepFinished",
	LogStarted:         "logStarted",
	LogAppended:        "logAppended",
	LogFinished:        "logFinished",
	ChangeAdded:        "changeAdded",
	WorkerConnected:    "workerConnected",
	WorkerDisconnected: "workerDisconnected",
	MasterStarted:      "masterStarted",
	MasterStopping:     "masterStopping",
}

// AllKinds lists every Kind.
func AllKinds() []Kind {
	ks := make([]Kind, 0, len(kindNames)-1)
	for k := BuilderAdded; int(k) < len(kindNames); k++ {
		ks = append(ks, k)
	}
	return ks
}

// String returns the lower-camel-case name of k ("buildFinished"), close to
// the event names of Buildbot's StatusPush.
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// MarshalText encodes k by name.
func (k Kind) MarshalText() ([]byte, error) {
	if k <= 0 || int(k) >= len(kindNames) {
		return nil, fmt.Errorf("status: invalid event kind %d", int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText decodes a kind name.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err == nil {
		*k = v
	}
	return err
}

// ParseKind parses a kind name as String returns it.
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if i > 0 && n == s {
			return Kind(i), nil
		}
	}
	return 0, &ParseError{What: "event kind", Input: s}
}

// Event is one thing that happened on a master. Kind says which subject
// pointers are set (see the Kind constants); the others are nil. Step and log
// events carry the Build as it stands, so reporters know builder and number.
type Event struct {
	Kind   Kind      `json:"kind"`
	Time   time.Time `json:"time"`
	Seq    uint64    `json:"seq"`              // set by the Hub, increasing per Hub
	Master string    `json:"master,omitempty"` // the publishing master
	// ID names the event for de-duplication by receivers: unique per
	// event and stable across a durable outbox's restarts (set by the Hub
	// as "<hub>-<seq>", where <hub> is random per Hub).
	ID string `json:"id,omitempty"`
	// Skipped is set on LogAppended and LogFinished when the Hub shed
	// earlier chunks of the same log for this reporter (its queue was
	// full): how many chunks are missing before this one. The History
	// always has the whole log.
	Skipped int `json:"skipped,omitempty"`

	Builder  *Builder      `json:"builder,omitempty"`
	Build    *Build        `json:"build,omitempty"`
	Step     *Step         `json:"step,omitempty"`
	Log      *LogRef       `json:"log,omitempty"`
	Chunk    string        `json:"chunk,omitempty"` // LogAppended: the new text
	BuildSet *BuildSet     `json:"buildset,omitempty"`
	Request  *BuildRequest `json:"request,omitempty"`
	Change   *Change       `json:"change,omitempty"`
	Worker   *Worker       `json:"worker,omitempty"`
}

// BuilderName returns the name of the builder the event is about, or "" for
// events about no single builder (changes, workers, build sets, the master).
func (e *Event) BuilderName() string {
	switch {
	case e.Build != nil:
		return e.Build.Builder
	case e.Builder != nil:
		return e.Builder.Name
	case e.Request != nil:
		return e.Request.Builder
	case e.Log != nil:
		return e.Log.Builder
	}
	return ""
}

// BuilderTags returns the tags of the builder the event is about, if known.
func (e *Event) BuilderTags() []string {
	switch {
	case e.Build != nil:
		return e.Build.Tags
	case e.Builder != nil:
		return e.Builder.Tags
	}
	return nil
}
