package push

import (
	"bytes"
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
	ID        uint64 `json:"id"`        // increasing, never reused for one Dir
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
// WhiteList and BlackList use these names.
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
// is set. Results are numbers, as Buildbot's (0 success ... 6 cancelled),
// so receivers comparing them keep working.
func encodePayload(e *status.Event, filter bool) (json.RawMessage, error) {
	b, err := json.Marshal(payload(e))
	if err != nil {
		return nil, fmt.Errorf("push: encode %v payload: %w", e.Kind, err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("push: encode %v payload: %w", e.Kind, err)
	}
	v = numericResults(v)
	if filter {
		v, _ = prune(v)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("push: encode %v payload: %w", e.Kind, err)
	}
	return out, nil
}

// numericResults replaces every "results" member naming a result by its
// number.
func numericResults(v any) any {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			x[i] = numericResults(e)
		}
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "results" {
				if r, err := status.ParseResult(s); err == nil {
					x[k] = int(r)
					continue
				}
			}
			x[k] = numericResults(e)
		}
	}
	return v
}

// prune (below) removes empty values from every object, as Buildbot's
// FilterOut did: null, "", false, [], {} and, Go's zero value for "not
// yet", the zero time. Unlike FilterOut it keeps the number 0: Python
// dropped it by accident (0 == False), losing results=success.

const zeroTime = "0001-01-01T00:00:00Z"

// prune returns v without empty members, and whether v itself is empty.
func prune(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case bool:
		return x, !x
	case string:
		return x, x == "" || x == zeroTime
	case []any:
		out := x[:0]
		for _, e := range x {
			e, _ = prune(e) // list members stay, so positions keep their meaning
			out = append(out, e)
		}
		return out, len(out) == 0
	case map[string]any:
		for k, e := range x {
			e, empty := prune(e)
			if empty {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		return x, len(x) == 0
	}
	return v, false
}

// packetTail is the encoded packet after its id: everything Report can
// prepare before taking the queue's lock.
func packetTail(ts, project, started, event string, payload json.RawMessage) []byte {
	b := make([]byte, 0, len(payload)+len(project)+len(event)+96)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendQuote(b, ts)
	b = append(b, `,"project":`...)
	b = appendJSONString(b, project)
	b = append(b, `,"started":`...)
	b = strconv.AppendQuote(b, started)
	b = append(b, `,"event":`...)
	b = appendJSONString(b, event)
	b = append(b, `,"payload":`...)
	b = append(b, payload...)
	return append(b, '}')
}

// packetBytes completes a packet with its id.
func packetBytes(id uint64, tail []byte) []byte {
	b := make([]byte, 0, len(tail)+26)
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, id, 10)
	return append(b, tail...)
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
