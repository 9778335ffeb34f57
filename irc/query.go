package irc

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/heraldci/herald/status"
)

// The query commands (list, status, last, watch) read Options.History.

// history returns Options.History, or an answer saying there is none.
func (b *Bot) history() (status.History, error) {
	if b.o.History == nil {
		return nil, usageError("sorry, this bot has no build history to look at")
	}
	return b.o.History, nil
}

// builder returns a visible builder by name.
func (b *Bot) builder(ctx context.Context, name string) (*status.Builder, error) {
	h, err := b.history()
	if err != nil {
		return nil, err
	}
	bl, err := h.Builder(ctx, name)
	if errors.Is(err, status.ErrNotFound) || err == nil && !b.visible(bl.Name, bl.Tags) {
		return nil, usagef("no such builder '%s': try 'list builders'", name)
	}
	return bl, err
}

// builders returns the visible builders.
func (b *Bot) builders(ctx context.Context) ([]status.Builder, error) {
	h, err := b.history()
	if err != nil {
		return nil, err
	}
	all, err := h.Builders(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(bl status.Builder) bool { return !b.visible(bl.Name, bl.Tags) }), nil
}

func (b *Bot) running(ctx context.Context, builder string) ([]*status.Build, error) {
	return b.o.History.Builds(ctx, status.BuildQuery{Builders: []string{builder}, Running: true})
}

func (b *Bot) lastFinished(ctx context.Context, builder string) (*status.Build, error) {
	bs, err := b.o.History.Builds(ctx, status.BuildQuery{Builders: []string{builder}, Finished: true, Limit: 1})
	if err != nil || len(bs) == 0 {
		return nil, err
	}
	return bs[0], nil
}

func (b *Bot) cmdList(ctx context.Context, r *request) error {
	if len(r.Args) != 1 || r.Args[0] != "builders" {
		return usageError("try 'list builders'")
	}
	bls, err := b.builders(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, bl := range bls {
		n := bl.Name
		if bl.State == status.Offline {
			n += "[offline]"
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return b.reply(r, "No builders are configured")
	}
	return b.reply(r, "Configured builders: "+strings.Join(names, " "))
}

func (b *Bot) cmdStatus(ctx context.Context, r *request) error {
	which := "all"
	switch len(r.Args) {
	case 0:
	case 1:
		which = r.Args[0]
	default:
		return usageError("try 'status BUILDER' or 'status all'")
	}
	var bls []status.Builder
	if which == "all" {
		var err error
		if bls, err = b.builders(ctx); err != nil {
			return err
		}
	} else {
		bl, err := b.builder(ctx, which)
		if err != nil {
			return err
		}
		bls = []status.Builder{*bl}
	}
	var items []string
	for i := range bls {
		run, err := b.running(ctx, bls[i].Name)
		if err != nil {
			return err
		}
		last, err := b.lastFinished(ctx, bls[i].Name)
		if err != nil {
			return err
		}
		items = append(items, b.format.builderStatus(&bls[i], run, last))
	}
	if len(items) == 0 {
		return b.reply(r, "No builders are configured")
	}
	return b.sayPacked(r.to, items)
}

func (b *Bot) cmdLast(ctx context.Context, r *request) error {
	if len(r.Args) != 1 {
		return usageError("try 'last BUILDER' or 'last all'")
	}
	var names []string
	if r.Args[0] == "all" {
		bls, err := b.builders(ctx)
		if err != nil {
			return err
		}
		for _, bl := range bls {
			names = append(names, bl.Name)
		}
	} else {
		bl, err := b.builder(ctx, r.Args[0])
		if err != nil {
			return err
		}
		names = []string{bl.Name}
	}
	var items []string
	for _, n := range names {
		last, err := b.lastFinished(ctx, n)
		if err != nil {
			return err
		}
		items = append(items, b.format.last(n, last))
	}
	return b.sayPacked(r.to, items)
}

func (b *Bot) cmdWatch(ctx context.Context, r *request) error {
	if len(r.Args) != 1 {
		return usageError("try 'watch BUILDER'")
	}
	bl, err := b.builder(ctx, r.Args[0])
	if err != nil {
		return err
	}
	run, err := b.running(ctx, bl.Name)
	if err != nil {
		return err
	}
	if len(run) == 0 {
		return b.reply(r, "there are no builds currently running on "+bl.Name)
	}
	b.mu.Lock()
	c := b.contactLocked(r.to)
	for _, build := range run {
		b.addWatchLocked(watch{contact: fold(c.name), builder: build.Builder, number: build.Number})
	}
	b.mu.Unlock()
	for _, build := range run {
		if err := b.reply(r, b.format.watching(build)); err != nil {
			return err
		}
	}
	return nil
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
