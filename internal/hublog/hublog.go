// Package hublog gives the targets of this module their loggers the one way
// status.Logging describes: the logger their options named, or else one that
// writes through slog.Default() until the Hub the target is added to hands
// over its own.
package hublog

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// New returns the logger a target logs through and the function its
// InheritLogger method calls.
//
// With own set, the logger is own and inherit does nothing. Otherwise the
// logger writes through slog.Default() (as it is at each line) until
// inherit is called, then through the logger inherit was given last; the
// loggers derived from it with With and WithGroup switch too, so a target
// can hand it to its parts and keep attributes of its own. inherit is safe
// for concurrent use with logging.
func New(own *slog.Logger) (log *slog.Logger, inherit func(*slog.Logger)) {
	if own != nil {
		return own, func(*slog.Logger) {}
	}
	src := new(atomic.Pointer[slog.Logger])
	return slog.New(&handler{src: src}), func(l *slog.Logger) {
		if l != nil {
			src.Store(l)
		}
	}
}

// handler writes through the logger in src (slog.Default() while it is
// nil), with the attributes and groups added by With and WithGroup.
type handler struct {
	src   *atomic.Pointer[slog.Logger]
	steps []step // With and WithGroup calls, in order
	// last is the handler steps made from the logger last seen in src,
	// so a line costs one comparison unless the logger changed.
	last atomic.Pointer[derived]
}

type step struct {
	group string // WithGroup when attrs is nil
	attrs []slog.Attr
}

type derived struct {
	from *slog.Logger
	h    slog.Handler
}

func (h *handler) current() slog.Handler {
	l := h.src.Load()
	if l == nil {
		l = slog.Default()
	}
	if d := h.last.Load(); d != nil && d.from == l {
		return d.h
	}
	cur := l.Handler()
	for _, s := range h.steps {
		if s.attrs != nil {
			cur = cur.WithAttrs(s.attrs)
		} else {
			cur = cur.WithGroup(s.group)
		}
	}
	h.last.Store(&derived{from: l, h: cur})
	return cur
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.current().Enabled(ctx, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	return h.current().Handle(ctx, r)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(step{attrs: attrs})
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(step{group: name})
}

func (h *handler) with(s step) *handler {
	steps := make([]step, len(h.steps), len(h.steps)+1)
	copy(steps, h.steps)
	return &handler{src: h.src, steps: append(steps, s)}
}
