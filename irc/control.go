package irc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/heraldci/herald/status"
)

// The control commands (shutdown, force, stop) act through Options.Control.
// dispatch has checked that they are enabled and that Authz allows them.

func (b *Bot) cmdShutdown(ctx context.Context, r *request) error {
	if len(r.Args) != 1 {
		return usageError("try 'shutdown check|start|stop|now'")
	}
	c := b.o.Control
	switch r.Args[0] {
	case "check":
		down, err := c.ShutdownState(ctx)
		if err != nil {
			return err
		}
		if down {
			return b.reply(r, "Status: the master is shutting down")
		}
		return b.reply(r, "Status: the master is running")
	case "start":
		down, err := c.ShutdownState(ctx)
		if err != nil {
			return err
		}
		if down {
			return b.reply(r, "Already started")
		}
		if err := c.ShutdownMaster(ctx, true); err != nil {
			return err
		}
		return b.reply(r, "Starting clean shutdown")
	case "stop":
		down, err := c.ShutdownState(ctx)
		if err != nil {
			return err
		}
		if !down {
			return b.reply(r, "Nothing to stop")
		}
		if err := c.CancelShutdown(ctx); err != nil {
			return err
		}
		return b.reply(r, "Stopping clean shutdown")
	case "now":
		// Said first: the master may be gone before an answer could be.
		if err := b.reply(r, "Stopping the master now"); err != nil {
			return err
		}
		return c.ShutdownMaster(ctx, false)
	}
	return usageError("try 'shutdown check|start|stop|now'")
}

const forceUsage = "try 'force build [--branch=BRANCH] [--revision=REVISION] [--props=NAME=VALUE,...] BUILDER REASON'"

func (b *Bot) cmdForce(ctx context.Context, r *request) error {
	if len(r.Args) == 0 || r.Args[0] != "build" {
		return usageError(forceUsage)
	}
	flags, rest, err := parseFlags(r.Args[1:], "branch", "revision", "props")
	if err != nil {
		return usagef("%v; %s", err, forceUsage)
	}
	if len(rest) == 0 {
		return usageError("you must name a builder: " + forceUsage)
	}
	fr := status.ForceRequest{
		Builder:  rest[0],
		Who:      r.who(),
		Reason:   strings.Join(rest[1:], " "),
		Branch:   flags["branch"],
		Revision: flags["revision"],
	}
	if !validToken(fr.Branch, "._-/+~") {
		return usagef("sorry, bad branch '%s'", fr.Branch)
	}
	if !validToken(fr.Revision, "._-/ ") {
		return usagef("sorry, bad revision '%s'", fr.Revision)
	}
	if p, ok := flags["props"]; ok {
		if fr.Properties, err = parseProps(p); err != nil {
			return err
		}
	}
	if b.o.History != nil {
		if _, err := b.builder(ctx, fr.Builder); err != nil {
			return err
		}
	} else if !b.visible(fr.Builder, nil) {
		return usagef("no such builder '%s'", fr.Builder)
	}
	req, err := b.o.Control.ForceBuild(ctx, fr)
	if err != nil {
		return err
	}
	b.log.Info("irc: build forced", "builder", fr.Builder, "by", fr.Who)
	if req == nil || req.BuildSetID == "" {
		// The host cannot say which build it will be.
		return b.reply(r, fmt.Sprintf("build of %s forced; watch it with 'watch %s' once it runs", fr.Builder, fr.Builder))
	}
	if req.Builder == "" {
		req.Builder = fr.Builder
	}
	build := b.startFollow(r.to, r.Nick, req)
	if build == nil {
		return b.reply(r, addressTo(r.to, r.Nick, fmt.Sprintf("build of %s queued; I'll give a shout when it starts", fr.Builder)))
	}
	// It started (maybe ended) before the answer: say so now.
	return errors.Join(b.followStarted(build, []follow{{contact: fold(r.to), nick: r.Nick, builder: req.Builder, setID: req.BuildSetID}})...)
}

func (b *Bot) cmdStop(ctx context.Context, r *request) error {
	if len(r.Args) < 3 || r.Args[0] != "build" {
		return usageError("try 'stop build BUILDER REASON'")
	}
	bl, err := b.builder(ctx, r.Args[1])
	if err != nil {
		return err
	}
	reason := strings.Join(r.Args[2:], " ")
	run, err := b.running(ctx, bl.Name)
	if err != nil {
		return err
	}
	if len(run) == 0 {
		return b.reply(r, "sorry, no build is currently running on "+bl.Name)
	}
	for _, build := range run {
		if err := b.o.Control.StopBuild(ctx, build.Builder, build.Number, r.who(), reason); err != nil {
			return err
		}
		b.log.Info("irc: build stopped", "builder", build.Builder, "number", build.Number, "by", r.who())
		what := fmt.Sprintf("build #%d of %s", build.Number, build.Builder)
		if b.o.UseRevisions {
			what = fmt.Sprintf("build containing revision(s) [%s] on %s", revisions(build), build.Builder)
		}
		if err := b.reply(r, what+" interrupted"); err != nil {
			return err
		}
	}
	return nil
}
