package irc

import (
	"context"
	"errors"
	"fmt"

	"github.com/heraldci/herald/status"
)

// transport is how package chat's engine speaks on IRC. Saying only
// queues lines, so it never waits: ctx is checked, not waited on, and a
// full queue is a Retryable ErrQueueFull at once (the engine says the text
// again when the Hub retries the event).
type transport struct{ b *Bot }

func (t transport) Say(ctx context.Context, to, text string, announce bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("irc: saying to %s: %w", to, err)
	}
	return t.b.queueFull(to, t.b.say(to, text, announce))
}

func (t transport) SayItems(ctx context.Context, to string, items []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("irc: saying to %s: %w", to, err)
	}
	return t.b.queueFull(to, t.b.sayPacked(to, items))
}

func (t transport) IsRoom(to string) bool { return isChannel(to) }

// queueFull marks ErrQueueFull Retryable after the flood control's
// interval, when a line has left the queue.
func (b *Bot) queueFull(to string, err error) error {
	if errors.Is(err, ErrQueueFull) {
		return status.Retryable(fmt.Errorf("%w (saying to %s)", err, to), b.o.Interval)
	}
	return err
}

// mIRC colour numbers, two digits so that text starting with a digit is not
// taken for part of the code.
var resultColor = map[status.Result]string{
	status.Success:   "03", // green
	status.Warnings:  "08", // yellow
	status.Failure:   "04", // red
	status.Skipped:   "14", // grey
	status.Exception: "06", // purple
	status.Retry:     "11", // light aqua
	status.Cancelled: "13", // pink
}

const colorCode = "\x03"

// colorize is the chat engine's Highlight on IRC.
func colorize(text string, r status.Result) string {
	return colorCode + resultColor[r] + text + colorCode
}

// sayPacked answers with items joined by " | ", as few lines as fit: a
// status of 50 builders takes a few lines, not 50 (each costing Interval
// under flood control). An item is never split between lines unless it
// is longer than a line by itself.
func (b *Bot) sayPacked(to string, items []string) error {
	room := b.room(to)
	var cur string
	var errs []error
	for _, it := range items {
		it = clean(it)
		switch {
		case cur == "":
			cur = it
		case len(cur)+3+len(it) <= room:
			cur += " | " + it
		default:
			errs = append(errs, b.say(to, cur, false))
			cur = it
		}
	}
	if cur != "" {
		errs = append(errs, b.say(to, cur, false))
	}
	return errors.Join(errs...)
}

// room is the longest text one line to "to" can carry.
func (b *Bot) room(to string) int {
	cmd := "PRIVMSG"
	if b.o.NoticeOnChannel && isChannel(to) {
		cmd = "NOTICE"
	}
	b.mu.Lock()
	prefix := b.prefixLen()
	b.mu.Unlock()
	return maxLine - prefix - len(cmd) - 1 - len(to) - 2 - 2
}
