package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/heraldci/herald/status"
)

// attachments returns the patches (unless Options.SkipPatch) and the
// selected logs (Options.AddLogs, LogNames) of the build in, each cut at
// Options.MaxAttachmentSize with a note saying so.
func (n *Notifier) attachments(ctx context.Context, in *FormatInput) ([]Attachment, error) {
	var out []Attachment
	max := n.o.MaxAttachmentSize
	if !n.o.SkipPatch {
		for i, s := range in.Build.Sources {
			if s.Patch == nil || len(s.Patch.Body) == 0 {
				continue
			}
			name := "source-patch-" + strconv.Itoa(i)
			if s.Codebase != "" {
				name = "source-patch-" + s.Codebase
			}
			data, cut := capBytes(s.Patch.Body, max)
			if cut {
				data = append(data, fmt.Sprintf("\n\n[Herald: patch cut at %d of %d bytes]\n", len(data), len(s.Patch.Body))...)
			}
			out = append(out, Attachment{Name: cleanFileName(name) + ".diff", ContentType: "text/x-diff; charset=utf-8", Data: data})
		}
	}
	if !n.o.AddLogs {
		return out, nil
	}
	for _, l := range in.Logs() {
		if len(n.o.LogNames) > 0 && !slices.Contains(n.o.LogNames, l.Ref.Name) && !slices.Contains(n.o.LogNames, l.Name) {
			continue
		}
		data, cut, err := in.ReadLog(ctx, l.Ref, max)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("mail: reading log %s: %w", l.Name, ctx.Err())
			}
			level := slog.LevelWarn
			if errors.Is(err, status.ErrNotFound) {
				level = slog.LevelDebug // a log without content yet
			}
			n.o.Logger.Log(ctx, level, "mail: log not attached", "log", l.Name, "builder", in.Builder, "number", in.Build.Number, "err", err)
			continue
		}
		if cut {
			data, _ = capBytes(data, max) // back to a rune boundary
			note := fmt.Sprintf("\n\n[Herald: log cut at %d bytes", len(data))
			if l.Ref.Size > 0 {
				note += fmt.Sprintf(" of %d", l.Ref.Size)
			}
			if l.URL != "" {
				note += "; full log: " + l.URL
			}
			data = append(data, note+"]\n"...)
		}
		out = append(out, Attachment{Name: cleanFileName(l.Name), ContentType: "text/plain; charset=utf-8", Data: data})
	}
	return out, nil
}

// capBytes returns at most max bytes of b, cut at a UTF-8 rune boundary, and
// whether b was longer.
func capBytes(b []byte, max int64) ([]byte, bool) {
	if int64(len(b)) <= max {
		return slices.Clone(b), false
	}
	k := int(max)
	for k > 0 && k > int(max)-utf8.UTFMax && !utf8.RuneStart(b[k]) {
		k--
	}
	return slices.Clone(b[:k]), true
}
