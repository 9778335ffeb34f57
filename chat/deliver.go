package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/heraldci/herald/status"
)

// A Hub retries an event as a whole: without memory, a bot announcing to
// two rooms, the second of which rate-limits it, would announce twice in
// the first. So the engine keeps, per event (Event.ID, which the Hub keeps
// across retries), the messages it has not delivered yet, and a retry
// delivers those alone, composed as they were the first time (the watches
// and follows an event completes are taken once).
//
// Memory is bounded: a delivery is forgotten when its last message is
// delivered, and the engine keeps at most maxUnsent of them, forgetting
// the oldest (logged) beyond that. A Hub retries one event of a reporter at
// a time, so there is at most one unless the Hub gives up on events. An
// event without an ID is not remembered.

// delivery is what the engine says about one event.
type delivery struct {
	id   string // Event.ID; "" for a command's announcements
	msgs []outgoing
}

// outgoing is one message of a delivery.
type outgoing struct {
	to, text string
	done     bool // delivered, or refused for good
}

// maxUnsent bounds the events whose messages are remembered for a retry.
const maxUnsent = 64

func (d *delivery) add(to, text string) { d.msgs = append(d.msgs, outgoing{to: to, text: text}) }

// left counts the messages not done.
func (d *delivery) left() int {
	n := 0
	for _, m := range d.msgs {
		if !m.done {
			n++
		}
	}
	return n
}

// deliver says d's messages that are not done, in order. A Retryable
// failure leaves the message, and the later ones to the same contact (they
// would arrive out of order), for a retry; the other contacts go on. Any
// other failure is final for its message: it is done, and logged. When ctx
// ends the rest waits.
func (e *Engine) deliver(ctx context.Context, d *delivery) error {
	var errs []error
	var waiting []string // contacts with a message left behind
	for i := range d.msgs {
		m := &d.msgs[i]
		if m.done || slices.Contains(waiting, fold(m.to)) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("%s: announcing: %w", e.o.Name, err))...)
		}
		err := e.t.Say(ctx, m.to, m.text, true)
		switch {
		case err == nil:
			m.done = true
		case status.IsRetryable(err) || ctx.Err() != nil:
			waiting = append(waiting, fold(m.to))
			errs = append(errs, err)
		default:
			m.done = true
			errs = append(errs, err)
			e.log.Warn(e.o.Name+": an announcement was refused", "to", m.to, "event", d.id, "err", err)
		}
	}
	return errors.Join(errs...)
}

// takeUnsent returns and forgets the delivery remembered for event id.
func (e *Engine) takeUnsent(id string) *delivery {
	if id == "" {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	i := slices.IndexFunc(e.unsent, func(d *delivery) bool { return d.id == id })
	if i < 0 {
		return nil
	}
	d := e.unsent[i]
	e.unsent = slices.Delete(e.unsent, i, i+1)
	return d
}

// keepUnsent remembers d for a retry if it has an ID and messages left,
// forgetting the oldest beyond maxUnsent.
func (e *Engine) keepUnsent(d *delivery) {
	if d.id == "" || d.left() == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.unsent = append(e.unsent, d)
	if n := len(e.unsent) - maxUnsent; n > 0 {
		for _, old := range e.unsent[:n] {
			e.log.Warn(e.o.Name+": forgetting announcements never delivered", "event", old.id, "messages", old.left())
		}
		e.unsent = slices.Delete(e.unsent, 0, n)
	}
}
