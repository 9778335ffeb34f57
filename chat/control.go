package chat

import (
	"context"
	"fmt"
	"strings"

	"github.com/heraldci/herald/status"
)

// The control commands (shutdown, force, stop) act through Options.Control.
// dispatch has checked that they are enabled and that Authz allows them.

func (e *Engine) cmdShutdown(ctx context.Context, r *Request) error {
	if len(r.Args) != 1 {
		return UsageError("try 'shutdown check|start|stop|now'")
	}
	c := e.o.Control
	switch r.Args[0] {
	case "check":
		down, err := c.ShutdownState(ctx)
		if err != nil {
			return err
		}
		if down {
			return e.Reply(ctx, r, "Status: the master is shutting down")
		}
		return e.Reply(ctx, r, "Status: the master is running")
	case "start":
		down, err := c.ShutdownState(ctx)
		if err != nil {
			return err
		}
		if down {
			return e.Reply(ctx, r, "Already started")
		}
		if err := c.ShutdownMaster(ctx, true); err != nil {
			return err
		}
		return e.Reply(ctx, r, "Starting clean shutdown")
	case "stop":
		down, err := c.ShutdownState(ctx)
		if err != nil {
			return err
		}
		if !down {
			return e.Reply(ctx, r, "Nothing to stop")
		}
		if err := c.CancelShutdown(ctx); err != nil {
			return err
		}
		return e.Reply(ctx, r, "Stopping clean shutdown")
	case "now":
		// Said first: the master may be gone before an answer could be.
		if err := e.Reply(ctx, r, "Stopping the master now"); err != nil {
			return err
		}
		return c.ShutdownMaster(ctx, false)
	}
	return UsageError("try 'shutdown check|start|stop|now'")
}

const forceUsage = "try 'force build [--branch=BRANCH] [--revision=REVISION] [--props=NAME=VALUE,...] BUILDER REASON'"

func (e *Engine) cmdForce(ctx context.Context, r *Request) error {
	if len(r.Args) == 0 || r.Args[0] != "build" {
		return UsageError(forceUsage)
	}
	flags, rest, err := parseFlags(r.Args[1:], "branch", "revision", "props")
	if err != nil {
		return Usagef("%v; %s", err, forceUsage)
	}
	if len(rest) == 0 {
		return UsageError("you must name a builder: " + forceUsage)
	}
	fr := status.ForceRequest{
		Builder:  rest[0],
		Who:      r.Who,
		Reason:   strings.Join(rest[1:], " "),
		Branch:   flags["branch"],
		Revision: flags["revision"],
	}
	if !validToken(fr.Branch, "._-/+~") {
		return Usagef("sorry, bad branch '%s'", fr.Branch)
	}
	if !validToken(fr.Revision, "._-/ ") {
		return Usagef("sorry, bad revision '%s'", fr.Revision)
	}
	if p, ok := flags["props"]; ok {
		if fr.Properties, err = parseProps(p); err != nil {
			return err
		}
	}
	if e.o.History != nil {
		if _, err := e.builder(ctx, fr.Builder); err != nil {
			return err
		}
	} else if !e.visible(fr.Builder, nil) {
		return Usagef("no such builder '%s'", fr.Builder)
	}
	req, err := e.o.Control.ForceBuild(ctx, fr)
	if err != nil {
		return err
	}
	e.log.Info(e.o.Name+": build forced", "builder", fr.Builder, "by", fr.Who)
	if req == nil || req.BuildSetID == "" {
		// The host cannot say which build it will be.
		return e.Reply(ctx, r, fmt.Sprintf("build of %s forced; watch it with 'watch %s' once it runs", fr.Builder, fr.Builder))
	}
	if req.Builder == "" {
		req.Builder = fr.Builder
	}
	build := e.startFollow(r.To, r.Sender, req)
	if build == nil {
		return e.Reply(ctx, r, e.addressTo(r.To, r.Sender, fmt.Sprintf("build of %s queued; I'll give a shout when it starts", fr.Builder)))
	}
	// It started (maybe ended) before the answer: say so now.
	d := &delivery{}
	e.followStarted(d, build, []follow{{contact: fold(r.To), sender: r.Sender, builder: req.Builder, setID: req.BuildSetID}})
	return e.deliver(ctx, d)
}

func (e *Engine) cmdStop(ctx context.Context, r *Request) error {
	if len(r.Args) < 3 || r.Args[0] != "build" {
		return UsageError("try 'stop build BUILDER REASON'")
	}
	bl, err := e.builder(ctx, r.Args[1])
	if err != nil {
		return err
	}
	reason := strings.Join(r.Args[2:], " ")
	run, err := e.running(ctx, bl.Name)
	if err != nil {
		return err
	}
	if len(run) == 0 {
		return e.Reply(ctx, r, "sorry, no build is currently running on "+bl.Name)
	}
	for _, build := range run {
		if err := e.o.Control.StopBuild(ctx, build.Builder, build.Number, r.Who, reason); err != nil {
			return err
		}
		e.log.Info(e.o.Name+": build stopped", "builder", build.Builder, "number", build.Number, "by", r.Who)
		what := fmt.Sprintf("build #%d of %s", build.Number, build.Builder)
		if e.o.UseRevisions {
			what = fmt.Sprintf("build containing revision(s) [%s] on %s", revisions(build), build.Builder)
		}
		if err := e.Reply(ctx, r, what+" interrupted"); err != nil {
			return err
		}
	}
	return nil
}
