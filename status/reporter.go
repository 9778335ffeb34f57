package status

import (
	"context"
	"errors"
	"log/slog"
	"slices"
)

// Reporter tells the world about events: a mail, an IRC line, a commit
// status, an HTTP push.
//
// Report is called by the Hub from one goroutine per reporter, in publish
// order, so a reporter added to a Hub need not be safe for concurrent use;
// reporters in this module are anyway, so they can be called directly. Report
// must honour ctx: it returns promptly (and with an error wrapping ctx.Err())
// when ctx is done. It must not retry or sleep on failure: it returns
// Retryable(err, after) for a transient failure and the Hub waits and calls
// again with the same event; any other error is permanent and the event is
// given up for this reporter. Report must ignore kinds it has no use for and
// never modify the event or anything it points to.
type Reporter interface {
	Report(ctx context.Context, e Event) error
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(ctx context.Context, e Event) error

// Report calls f(ctx, e).
func (f ReporterFunc) Report(ctx context.Context, e Event) error { return f(ctx, e) }

// Closer is implemented by reporters that hold resources (connections,
// goroutines, files). The Hub calls Close once, after the reporter's queue is
// drained, at Shutdown. Close must leave no goroutine behind and honour ctx.
type Closer interface {
	Close(ctx context.Context) error
}

// Named is implemented by reporters that have a name for logs and Stats.
type Named interface {
	Name() string
}

// Discard is a Reporter that does nothing.
var Discard Reporter = discard{}

type discard struct{}

func (discard) Report(context.Context, Event) error { return nil }
func (discard) Name() string                        { return "discard" }

// Multi returns a Reporter that reports to each of rs in turn, synchronously,
// and joins their errors. If any error is Retryable the joined error is too,
// and a Hub would retry every member: add reporters to a Hub one by one to
// give each its own queue and retries; use Multi to compose synchronously.
// Close closes every member that is a Closer; InheritLogger is passed to
// every member that is Logging.
func Multi(rs ...Reporter) Reporter {
	return multi(slices.Clone(rs))
}

type multi []Reporter

func (m multi) Report(ctx context.Context, e Event) error {
	var errs []error
	for _, r := range m {
		if err := r.Report(ctx, e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Handles reports whether any member handles k.
func (m multi) Handles(k Kind) bool {
	for _, r := range m {
		if sel, ok := r.(Selective); !ok || sel.Handles(k) {
			return true
		}
	}
	return false
}

// InheritLogger forwards to every member that is Logging.
func (m multi) InheritLogger(l *slog.Logger) {
	for _, r := range m {
		if lg, ok := r.(Logging); ok {
			lg.InheritLogger(l)
		}
	}
}

func (m multi) Close(ctx context.Context) error {
	var errs []error
	for _, r := range m {
		if c, ok := r.(Closer); ok {
			errs = append(errs, c.Close(ctx))
		}
	}
	return errors.Join(errs...)
}

// Match decides whether an event is of interest.
type Match func(e Event) bool

// Filter returns a Reporter that passes to r only the events m accepts; the
// others are accepted and dropped. A Hub applies the filter before queueing.
// The result forwards Close, Name, Handles and InheritLogger to r.
func Filter(r Reporter, m Match) Reporter {
	return &filtered{r: r, m: m}
}

type filtered struct {
	r Reporter
	m Match
}

func (f *filtered) Report(ctx context.Context, e Event) error {
	if !f.m(e) {
		return nil
	}
	return f.r.Report(ctx, e)
}

func (f *filtered) Close(ctx context.Context) error {
	if c, ok := f.r.(Closer); ok {
		return c.Close(ctx)
	}
	return nil
}

func (f *filtered) Name() string { return nameOf(f.r) }

// InheritLogger forwards to r.
func (f *filtered) InheritLogger(l *slog.Logger) {
	if lg, ok := f.r.(Logging); ok {
		lg.InheritLogger(l)
	}
}

// Handles forwards to r.
func (f *filtered) Handles(k Kind) bool {
	sel, ok := f.r.(Selective)
	return !ok || sel.Handles(k)
}

// Builders matches events about one of the named builders. Events about no
// builder (changes, workers, the master) do not match; combine with Or and
// Kinds to let them through.
func Builders(names ...string) Match {
	names = slices.Clone(names)
	return func(e Event) bool {
		n := e.BuilderName()
		return n != "" && slices.Contains(names, n)
	}
}

// Tags matches events about a builder carrying one of tags: Buildbot's
// tags= option of most status targets.
func Tags(tags ...string) Match {
	tags = slices.Clone(tags)
	return func(e Event) bool {
		for _, t := range e.BuilderTags() {
			if slices.Contains(tags, t) {
				return true
			}
		}
		return false
	}
}

// Kinds matches events of the given kinds.
func Kinds(kinds ...Kind) Match {
	set := KindsOf(kinds...)
	return func(e Event) bool { return set.Has(e.Kind) }
}

// Results matches finished builds (BuildFinished), finished steps
// (StepFinished) and finished build sets whose result is one of rs.
func Results(rs ...Result) Match {
	rs = slices.Clone(rs)
	return func(e Event) bool {
		switch {
		case e.Kind == BuildFinished && e.Build != nil:
			return slices.Contains(rs, e.Build.Result)
		case e.Kind == StepFinished && e.Step != nil:
			return slices.Contains(rs, e.Step.Result)
		case e.Kind == BuildSetFinished && e.BuildSet != nil:
			return slices.Contains(rs, e.BuildSet.Result)
		}
		return false
	}
}

// And matches when every m matches.
func And(ms ...Match) Match {
	return func(e Event) bool {
		for _, m := range ms {
			if !m(e) {
				return false
			}
		}
		return true
	}
}

// Or matches when any m matches.
func Or(ms ...Match) Match {
	return func(e Event) bool {
		for _, m := range ms {
			if m(e) {
				return true
			}
		}
		return false
	}
}

// Not matches when m does not.
func Not(m Match) Match { return func(e Event) bool { return !m(e) } }

// nameOf returns r's Name if it has one, else its type.
func nameOf(r Reporter) string {
	if n, ok := r.(Named); ok {
		return n.Name()
	}
	return typeName(r)
}
