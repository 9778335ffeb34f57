package chat

import (
	"slices"
	"strings"

	"github.com/heraldci/herald/status"
)

// The events of the notify command, as Buildbot names them.
var plainEvents = []string{"started", "finished", "success", "warnings", "failure", "exception"}

// transitionResults are the results xToY transitions can name.
var transitionResults = []string{"success", "warnings", "failure", "exception"}

const eventsHelp = "events are started, finished, success, warnings, failure, exception, " +
	"or xToY with x and Y among success, warnings, failure, exception (Y capitalised: successToFailure)"

// validEvent reports whether e is a notify event.
func validEvent(e string) bool {
	if slices.Contains(plainEvents, e) {
		return true
	}
	from, to, ok := strings.Cut(e, "To")
	if !ok || to == "" || !slices.Contains(transitionResults, from) {
		return false
	}
	return slices.Contains(transitionResults, strings.ToLower(to[:1])+to[1:]) && to[:1] == strings.ToUpper(to[:1])
}

// resultEvent names a result as the notify events do ("" for results that
// have no event: skipped, retry, cancelled).
func resultEvent(r status.Result) string {
	switch r {
	case status.Success, status.Warnings, status.Failure, status.Exception:
		return r.String()
	}
	return ""
}

// transition names the xToY event from prev to cur, or "".
func transition(prev, cur status.Result) string {
	x, y := resultEvent(prev), resultEvent(cur)
	if x == "" || y == "" {
		return ""
	}
	return x + "To" + strings.ToUpper(y[:1]) + y[1:]
}

// contact is a place the bot talks to: a room, or a person in private. Its
// events are what the notify command set there.
type contact struct {
	name   string // as first seen; compared case-insensitively
	room   bool
	events map[string]bool
}

func newContact(name string, room bool, events []string) *contact {
	c := &contact{name: name, room: room, events: map[string]bool{}}
	for _, e := range events {
		c.events[e] = true
	}
	return c
}

// eventList returns the contact's events, sorted.
func (c *contact) eventList() []string {
	var es []string
	for e := range c.events {
		es = append(es, e)
	}
	slices.Sort(es)
	return es
}

// wantsStarted reports whether a started build is announced here.
func (c *contact) wantsStarted() bool { return c.events["started"] }

// wantsFinished reports whether a finished build with result r is announced
// here; prev is the previous build's result, if known.
func (c *contact) wantsFinished(r status.Result, prev *status.Result) bool {
	if c.events["finished"] {
		return true
	}
	if e := resultEvent(r); e != "" && c.events[e] {
		return true
	}
	return prev != nil && c.events[transition(*prev, r)]
}

// wantsTransitions reports whether any xToY event is set, so the previous
// build must be looked up.
func (c *contact) wantsTransitions() bool {
	for e := range c.events {
		if strings.Contains(e, "To") {
			return true
		}
	}
	return false
}

// fold is the case mapping of names of rooms and people (ASCII, as
// ngircd announces CASEMAPPING=ascii; rfc1459's extra pairs are rare, and
// other networks' IDs do not differ by case).
func fold(s string) string { return strings.ToLower(s) }
