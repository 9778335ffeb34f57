package chat

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/heraldci/herald/status"
)

// The query commands (list, status, last, watch) read Options.History.

// history returns Options.History, or an answer saying there is none.
func (e *Engine) history() (status.History, error) {
	if e.o.History == nil {
		return nil, UsageError("sorry, this bot has no build history to look at")
	}
	return e.o.History, nil
}

// builder returns a visible builder by name.
func (e *Engine) builder(ctx context.Context, name string) (*status.Builder, error) {
	h, err := e.history()
	if err != nil {
		return nil, err
	}
	bl, err := h.Builder(ctx, name)
	if errors.Is(err, status.ErrNotFound) || err == nil && !e.visible(bl.Name, bl.Tags) {
		return nil, Usagef("no such builder '%s': try 'list builders'", name)
	}
	return bl, err
}

// builders returns the visible builders.
func (e *Engine) builders(ctx context.Context) ([]status.Builder, error) {
	h, err := e.history()
	if err != nil {
		return nil, err
	}
	all, err := h.Builders(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(bl status.Builder) bool { return !e.visible(bl.Name, bl.Tags) }), nil
}

func (e *Engine) running(ctx context.Context, builder string) ([]*status.Build, error) {
	return e.o.History.Builds(ctx, status.BuildQuery{Builders: []string{builder}, Running: true})
}

func (e *Engine) lastFinished(ctx context.Context, builder string) (*status.Build, error) {
	bs, err := e.o.History.Builds(ctx, status.BuildQuery{Builders: []string{builder}, Finished: true, Limit: 1})
	if err != nil || len(bs) == 0 {
		return nil, err
	}
	return bs[0], nil
}

func (e *Engine) cmdList(ctx context.Context, r *Request) error {
	if len(r.Args) != 1 || r.Args[0] != "builders" {
		return UsageError("try 'list builders'")
	}
	bls, err := e.builders(ctx)
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
		return e.Reply(ctx, r, "No builders are configured")
	}
	return e.Reply(ctx, r, "Configured builders: "+strings.Join(names, " "))
}

func (e *Engine) cmdStatus(ctx context.Context, r *Request) error {
	which := "all"
	switch len(r.Args) {
	case 0:
	case 1:
		which = r.Args[0]
	default:
		return UsageError("try 'status BUILDER' or 'status all'")
	}
	var bls []status.Builder
	if which == "all" {
		var err error
		if bls, err = e.builders(ctx); err != nil {
			return err
		}
	} else {
		bl, err := e.builder(ctx, which)
		if err != nil {
			return err
		}
		bls = []status.Builder{*bl}
	}
	var items []string
	for i := range bls {
		run, err := e.running(ctx, bls[i].Name)
		if err != nil {
			return err
		}
		last, err := e.lastFinished(ctx, bls[i].Name)
		if err != nil {
			return err
		}
		items = append(items, e.format.builderStatus(&bls[i], run, last))
	}
	if len(items) == 0 {
		return e.Reply(ctx, r, "No builders are configured")
	}
	return e.t.SayItems(ctx, r.To, items)
}

func (e *Engine) cmdLast(ctx context.Context, r *Request) error {
	if len(r.Args) != 1 {
		return UsageError("try 'last BUILDER' or 'last all'")
	}
	var names []string
	if r.Args[0] == "all" {
		bls, err := e.builders(ctx)
		if err != nil {
			return err
		}
		for _, bl := range bls {
			names = append(names, bl.Name)
		}
	} else {
		bl, err := e.builder(ctx, r.Args[0])
		if err != nil {
			return err
		}
		names = []string{bl.Name}
	}
	var items []string
	for _, n := range names {
		last, err := e.lastFinished(ctx, n)
		if err != nil {
			return err
		}
		items = append(items, e.format.last(n, last))
	}
	return e.t.SayItems(ctx, r.To, items)
}

func (e *Engine) cmdWatch(ctx context.Context, r *Request) error {
	if len(r.Args) != 1 {
		return UsageError("try 'watch BUILDER'")
	}
	bl, err := e.builder(ctx, r.Args[0])
	if err != nil {
		return err
	}
	run, err := e.running(ctx, bl.Name)
	if err != nil {
		return err
	}
	if len(run) == 0 {
		return e.Reply(ctx, r, "there are no builds currently running on "+bl.Name)
	}
	e.mu.Lock()
	c := e.contactLocked(r.To)
	for _, build := range run {
		e.addWatchLocked(watch{contact: fold(c.name), builder: build.Builder, number: build.Number})
	}
	e.mu.Unlock()
	for _, build := range run {
		if err := e.Reply(ctx, r, e.format.watching(build)); err != nil {
			return err
		}
	}
	return nil
}
