package forge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/heraldci/herald/status"
)

// Kinds are the events a commit-status target handles: builds starting
// and finishing.
var Kinds = status.KindsOf(status.BuildStarted, status.BuildFinished)

// Target is what a commit-status target built on this package is.
type Target interface {
	status.Reporter
	status.Closer
	status.Named
	status.Selective
	status.Logging
}

// Hints say what to check when the forge refuses a request, by status
// code; they end the error's message.
type Hints map[int]string

// Default sets the text option *p to v when it is unset.
func Default(p *status.Renderer, v status.Renderer) {
	if *p == nil {
		*p = v
	}
}

// Shell is the part of a commit-status target that is the same in each
// built on this package (github, gitlab, gitea, bitbucket, stash): its
// name, how it prints (where it sends, never a credential), the kinds it
// handles, the logger it inherits, and closing. A Reporter embeds it and
// calls Init in New. Safe for concurrent use.
type Shell struct {
	name, where string
	release     func()
	inherit     func(*slog.Logger)
	closed      atomic.Bool
}

// Init names the target ("gitlab"), says where it sends (an address
// without credentials), what Close releases (nil for nothing), and what
// InheritLogger calls (the inherit of hublog.New).
func (s *Shell) Init(name, where string, release func(), inherit func(*slog.Logger)) {
	s.name, s.where, s.release, s.inherit = name, where, release, inherit
}

// InheritLogger implements status.Logging: a reporter whose options named
// no logger logs through l.
func (s *Shell) InheritLogger(l *slog.Logger) { s.inherit(l) }

// Name returns the target's name.
func (s *Shell) Name() string { return s.name }

// String names the target and where it sends; never a credential.
func (s *Shell) String() string { return s.name + ".Reporter(" + s.where + ")" }

// GoString is String, so %#v cannot dig into the reporter either.
func (s *Shell) GoString() string { return s.String() }

// Handles reports whether the reporter wants events of kind k: builds
// starting and finishing.
func (s *Shell) Handles(k status.Kind) bool { return Kinds.Has(k) }

// Close releases the connections of the reporter's own HTTP client.
// Reports after Close fail.
func (s *Shell) Close(context.Context) error {
	s.closed.Store(true)
	if s.release != nil {
		s.release()
	}
	return nil
}

// ErrClosed is what Begin returns after Close.
var ErrClosed = errors.New("Report called after Close")

// Begin says whether Report is to handle e: false, nil for other kinds
// and events without a build; false and an error when ctx has ended or
// the reporter is closed.
func (s *Shell) Begin(ctx context.Context, e status.Event) (bool, error) {
	switch {
	case !Kinds.Has(e.Kind) || e.Build == nil:
		return false, nil
	case ctx.Err() != nil:
		return false, fmt.Errorf("%s: %w", s.name, ctx.Err())
	case s.closed.Load():
		return false, fmt.Errorf("%s: %w", s.name, ErrClosed)
	}
	return true, nil
}

// RepoOf is the repository of a status: the option repo rendered when it
// is set ("owner/name", "group/sub/name", or a numeric ID), else the path
// of the source stamp's repository URL less under (RepoPath). ok is false
// unless the path has at most max segments, at least min when read from
// the URL (a GitLab project lives in a namespace; its ID is one segment),
// each a ValidSegment.
func RepoOf(repo status.Renderer, b *status.Build, s *status.SourceStamp, kw map[string]string, under string, min, max int) (string, bool) {
	var segs []string
	if repo != nil {
		p := strings.Trim(repo.Render(b, kw), "/")
		segs, min = strings.Split(p, "/"), 1
		for _, seg := range segs {
			if !ValidSegment(seg) {
				return p, false
			}
		}
	} else {
		var ok bool
		if segs, ok = RepoPath(s.Repository, under); !ok {
			return "", false
		}
	}
	return strings.Join(segs, "/"), len(segs) >= min && len(segs) <= max
}
