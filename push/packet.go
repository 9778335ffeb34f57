package push

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/heraldci/herald/status"
)

// Packet is one event as a receiver gets it, in the layout of Buildbot
// 0.8.12's StatusPush, so receivers written for it keep working.
type Packet struct {
	// ID is the event's status.Event.ID, stable across restarts of a
	// durable outbox, so a receiver can drop the packets it has seen (0.8.12
	// sent a number, increasing per master run).
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"` // when the event happened, UTC, "2006-01-02 15:04:05.000000"
	Project   string `json:"project"`   // Options.Project
	Started   string `json:"started"`   // when this Pusher started, same format
	Event     string `json:"event"`     // Buildbot's event name: "buildFinished", "slaveConnected"...
	// Payload maps subject names ("build", "step", "builderName"...) to the
	// subjects as JSON.
	Payload json.RawMessage `json:"payload"`
}

// EventName returns the name a packet carries for kind: Buildbot's status
// receiver method names where Buildbot had one ("builderChangedState",
// "slaveConnected", "logChunk", "start", "shutdown"), else kind.String().
func EventName(k status.Kind) string {
	switch k {
	case status.BuilderChanged:
		return "builderChangedState"
	case status.LogAppended:
		return "logChunk"
	case status.WorkerConnected:
		return "slaveConnected"
	case status.WorkerDisconnected:
		return "slaveDisconnected"
	case status.MasterStarted:
		return "start"
	case status.MasterStopping:
		return "shutdown"
	}
	return k.String()
}

// pythonTime formats t as Python's str(datetime.utcnow()) did in 0.8.12
// packets: microseconds only when non-zero.
func pythonTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04:05.000000")
}

// payload returns the subjects of e under the names Buildbot's StatusPush
// used for them.
func payload(e *status.Event) map[string]any {
	p := map[string]any{}
	stepContext := func() {
		if e.Build != nil {
			p["properties"] = propertyList(e.Build.Properties)
			p["builderName"] = e.Build.Builder
			p["buildNumber"] = e.Build.Number
		}
		if e.Step != nil {
			p["step"] = e.Step
		}
	}
	switch e.Kind {
	case status.BuilderAdded, status.BuilderChanged, status.BuilderRemoved:
		if e.Builder != nil {
			p["builderName"] = e.Builder.Name
			if e.Kind == status.BuilderChanged {
				p["state"] = e.Builder.State.String()
			}
			if e.Kind != status.BuilderRemoved {
				p["builder"] = e.Builder
			}
		}
	case status.RequestSubmitted, status.RequestCancelled:
		if e.Request != nil {
			p["request"] = e.Request
			p["builderName"] = e.Request.Builder
		}
	case status.BuildSetSubmitted, status.BuildSetFinished:
		p["buildset"] = e.BuildSet
	case status.BuildStarted, status.BuildFinished:
		p["build"] = e.Build
	case status.StepStarted, status.StepFinished:
		stepContext()
	case status.StepTextChanged:
		stepContext()
		if e.Step != nil {
			p["text"] = e.Step.Text
		}
	case status.LogStarted, status.LogAppended, status.LogFinished:
		stepContext()
		p["log"] = e.Log
		if e.Kind == status.LogAppended {
			p["chunk"] = e.Chunk
		}
	case status.ChangeAdded:
		p["change"] = e.Change
	case status.WorkerConnected, status.WorkerDisconnected:
		p["slave"] = e.Worker
		if e.Worker != nil {
			p["slavename"] = e.Worker.Name
		}
	}
	return p
}

// propertyList renders properties as Buildbot's Properties.asList():
// [name, value, source] triples.
func propertyList(props map[string]any) [][3]any {
	if len(props) == 0 {
		return nil
	}
	l := make([][3]any, 0, len(props))
	for _, name := range slices.Sorted(maps.Keys(props)) {
		l = append(l, [3]any{name, props[name], "Build"})
	}
	return l
}

// encodePayload marshals the payload of e, without empty values when filter
// is set (see rewriter). Results are numbers, as Buildbot's (0 success ...
// 6 cancelled), so receivers comparing them keep working.
func encodePayload(e *status.Event, filter bool) (json.RawMessage, error) {
	b, err := json.Marshal(payload(e))
	if err != nil {
		return nil, fmt.Errorf("push: encode %v payload: %w", e.Kind, err)
	}
	r := rewriter{in: b, out: make([]byte, 0, len(b)), filter: filter}
	r.value()
	return r.out, nil
}

const zeroTime = `"0001-01-01T00:00:00Z"`

// rewriter copies JSON that encoding/json produced (valid, no spaces) in
// one pass, turning "results" names into numbers and, with filter, leaving
// out empty object members as Buildbot's FilterOut did: null, "", false, [],
// {} and, Go's zero value for "not yet", the zero time. Unlike FilterOut it
// keeps the number 0: Python dropped it by accident (0 == False), losing
// results=success. Array members are kept (pruned inside), so positions
// keep their meaning. Decoding into maps and encoding again did the same at
// three times the cost; the tests keep that version to check this one.
type rewriter struct {
	in, out []byte
	i       int
	filter  bool
}

// value copies one value and reports whether it is empty.
func (r *rewriter) value() (empty bool) {
	switch r.in[r.i] {
	case '{':
		return r.object()
	case '[':
		return r.array()
	case '"':
		s := r.str()
		r.out = append(r.out, s...)
		return len(s) == 2 || string(s) == zeroTime
	}
	start := r.i
	for r.i < len(r.in) && r.in[r.i] != ',' && r.in[r.i] != '}' && r.in[r.i] != ']' {
		r.i++
	}
	lit := r.in[start:r.i]
	r.out = append(r.out, lit...)
	return string(lit) == "null" || string(lit) == "false"
}

// str skips a string and returns it with its quotes.
func (r *rewriter) str() []byte {
	start := r.i
	for r.i++; r.in[r.i] != '"'; r.i++ {
		if r.in[r.i] == '\\' {
			r.i++
		}
	}
	r.i++
	return r.in[start:r.i]
}

func (r *rewriter) object() (empty bool) {
	r.i++
	r.out = append(r.out, '{')
	kept := 0
	for r.in[r.i] != '}' {
		mark := len(r.out)
		if kept > 0 {
			r.out = append(r.out, ',')
		}
		key := r.str()
		r.out = append(r.out, key...)
		r.out = append(r.out, ':')
		r.i++ // ':'
		drop := false
		if string(key) == `"results"` && r.in[r.i] == '"' {
			s := r.str()
			if res, err := status.ParseResult(string(s[1 : len(s)-1])); err == nil {
				r.out = strconv.AppendInt(r.out, int64(res), 10)
			} else {
				r.out = append(r.out, s...)
				drop = r.filter && (len(s) == 2 || string(s) == zeroTime)
			}
		} else {
			drop = r.value() && r.filter
		}
		if drop {
			r.out = r.out[:mark]
		} else {
			kept++
		}
		if r.in[r.i] == ',' {
			r.i++
		}
	}
	r.i++
	r.out = append(r.out, '}')
	return kept == 0
}

func (r *rewriter) array() (empty bool) {
	r.i++
	r.out = append(r.out, '[')
	n := 0
	for r.in[r.i] != ']' {
		if n > 0 {
			r.out = append(r.out, ',')
		}
		r.value()
		n++
		if r.in[r.i] == ',' {
			r.i++
		}
	}
	r.i++
	r.out = append(r.out, ']')
	return n == 0
}

// packetBytes encodes pk with its fields in 0.8.12's order.
func packetBytes(pk *Packet) []byte {
	b := make([]byte, 0, len(pk.Payload)+len(pk.Project)+len(pk.Event)+len(pk.ID)+96)
	b = append(b, `{"id":`...)
	b = appendJSONString(b, pk.ID)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendQuote(b, pk.Timestamp)
	b = append(b, `,"project":`...)
	b = appendJSONString(b, pk.Project)
	b = append(b, `,"started":`...)
	b = strconv.AppendQuote(b, pk.Started)
	b = append(b, `,"event":`...)
	b = appendJSONString(b, pk.Event)
	b = append(b, `,"payload":`...)
	b = append(b, pk.Payload...)
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// DecodePackets decodes a JSON array of packets, as a receiver does with the
// packets= form value or a JSON body.
func DecodePackets(b []byte) ([]Packet, error) {
	var ps []Packet
	if err := json.Unmarshal(b, &ps); err != nil {
		return nil, fmt.Errorf("push: decode packets: %w", err)
	}
	return ps, nil
}
