package telegram

import (
	"context"
	"errors"
	"strings"
)

// transport is how package chat's engine speaks on Telegram.
type transport struct{ b *Bot }

// Say sends text with sendMessage under ctx: Report's for announcements,
// the command's for answers.
func (t transport) Say(ctx context.Context, to, text string, _ bool) error {
	return t.b.say(ctx, to, text)
}

// SayItems sends the items one a line, as few messages as fit.
func (t transport) SayItems(ctx context.Context, to string, items []string) error {
	return t.b.say(ctx, to, strings.Join(items, "\n"))
}

// IsRoom: groups have negative IDs, channels @names; people positive IDs.
func (t transport) IsRoom(to string) bool {
	return strings.HasPrefix(to, "-") || strings.HasPrefix(to, "@")
}

// say sends text to a chat, split at Telegram's limit, in HTML unless
// Options.PlainText.
func (b *Bot) say(ctx context.Context, to, text string) error {
	if !balanced(text) {
		text = stripMarks(text)
	}
	var errs []error
	for _, chunk := range split(text, maxText) {
		params := map[string]any{"chat_id": to, "link_preview_options": map[string]bool{"is_disabled": true}}
		if b.o.PlainText {
			params["text"] = stripMarks(chunk)
		} else {
			params["text"], params["parse_mode"] = toHTML(chunk), "HTML"
		}
		if err := b.call(ctx, "sendMessage", params, nil); err != nil {
			errs = append(errs, err)
			break // the rest would arrive out of order
		}
	}
	return errors.Join(errs...)
}
