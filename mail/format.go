package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/heraldci/herald/status"
)

// FormatFunc renders the content of the mail about one build
// (Options.MessageFormatter, Buildbot's messageFormatter). It may be called
// concurrently. DefaultFormat is one; a FormatFunc may call it and adjust
// the result.
type FormatFunc func(ctx context.Context, in *FormatInput) (*Content, error)

// Content is what a FormatFunc returns.
type Content struct {
	// Subject overrides Options.Subject when set.
	Subject string
	// Text and HTML are the bodies; set at least one. With both, the mail
	// is multipart/alternative.
	Text, HTML string
	// Headers are added to the mail (after Options.ExtraHeaders, which
	// they override). Herald's own headers cannot be set.
	Headers map[string]string
}

// FormatInput is everything a MessageFormatter gets about a build, with
// helpers for the rest (Buildbot's mode, name, build, results and
// master_status).
type FormatInput struct {
	// Mode holds the modes that fired for this build (zero in a preview
	// by Render of a build no mode selects).
	Mode Mode
	// Builder is the builder's name; Build the finished build; Result its
	// result; Previous the build it was compared with (nil if none).
	Builder  string
	Build    *status.Build
	Result   status.Result
	Previous *status.Build
	// Title, BuildURL and BuildbotURL come from Options.
	Title, BuildURL, BuildbotURL string
	// LogLines is Options.LogLines.
	LogLines int

	history status.History
}

// ResultString is the result's name: "success", "failure"...
func (in *FormatInput) ResultString() string { return in.Result.String() }

// Text is the build's summary text ("failed test").
func (in *FormatInput) Text() string { return strings.Join(in.Build.Text, " ") }

// Properties returns the build's properties (do not modify them).
func (in *FormatInput) Properties() map[string]any { return in.Build.Properties }

// Worker is the name of the worker that ran the build.
func (in *FormatInput) Worker() string { return in.Build.Worker }

// Reason is why the build ran.
func (in *FormatInput) Reason() string { return in.Build.Reason }

// ResponsibleUsers is the build's blamelist.
func (in *FormatInput) ResponsibleUsers() []string { return in.Build.Blamelist }

// Sources returns the build's source stamps, with their changes.
func (in *FormatInput) Sources() []status.SourceStamp { return in.Build.Sources }

// Project is the project of the first source stamp, or the Title.
func (in *FormatInput) Project() string {
	if s := in.Build.Source(""); s != nil && s.Project != "" {
		return s.Project
	}
	return in.Title
}

// Log describes one log of the build, as Buildbot's formatter helpers do.
type Log struct {
	Name   string // "step.log"
	Step   string
	Result status.Result // the step's result
	URL    string        // its page (LogURL), or ""
	Ref    status.LogRef
}

// Logs lists the build's logs in step order.
func (in *FormatInput) Logs() []Log {
	var out []Log
	for _, s := range in.Build.Steps {
		for _, l := range s.Logs {
			out = append(out, Log{Name: s.Name + "." + l.Name, Step: s.Name, Result: s.Result, URL: in.LogURL(s.Name, l.Name), Ref: l})
		}
	}
	return out
}

// LogURL is the page of a step's log in the web status, when BuildURL is
// the build's page there (status.Links), else "".
func (in *FormatInput) LogURL(step, log string) string {
	page := status.Links{}.Build(in.Build.Builder, in.Build.Number) // its path below the web status's root
	base, ok := strings.CutSuffix(strings.TrimSuffix(in.BuildURL, "/"), page)
	if !ok {
		return ""
	}
	return status.Links{Base: base}.Log(status.LogRef{Builder: in.Build.Builder, Build: in.Build.Number, Step: step, Name: log})
}

// ReadLog returns up to max bytes of a log from History, and whether it
// was cut.
func (in *FormatInput) ReadLog(ctx context.Context, ref status.LogRef, max int64) (data []byte, truncated bool, err error) {
	if in.history == nil {
		return nil, false, status.ErrUnsupported
	}
	rc, err := in.history.Log(ctx, ref)
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	data, err = io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) > max {
		return data[:max], true, nil
	}
	return data, false, nil
}

// tailWindow bounds what TailLog keeps in memory while it reads a log.
const tailWindow = 256 << 10

// TailLog returns the last n lines of a log from History, reading it once
// and keeping at most 256 KiB of it in memory.
func (in *FormatInput) TailLog(ctx context.Context, ref status.LogRef, n int) ([]string, error) {
	if in.history == nil {
		return nil, status.ErrUnsupported
	}
	rc, err := in.history.Log(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return tailLines(rc, n, tailWindow)
}

// tailLines returns the last n lines of r, looking at no more than its last
// window bytes.
func tailLines(r io.Reader, n, window int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	buf := make([]byte, 0, min(window, 8<<10))
	chunk := make([]byte, min(window, 8<<10))
	cut := false
	for {
		k, err := r.Read(chunk)
		buf = append(buf, chunk[:k]...)
		if len(buf) > window {
			buf = append(buf[:0], buf[len(buf)-window:]...)
			cut = true
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if cut { // the first line is partial
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	text := strings.TrimRight(strings.ReplaceAll(string(buf), "\r\n", "\n"), "\n")
	if text == "" {
		return nil, nil
	}
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

// FailingStep returns the step to quote in a mail: the first step that
// failed or raised an exception, else the first with warnings, else nil.
func (in *FormatInput) FailingStep() *status.Step {
	for _, want := range []status.Result{status.Failure, status.Exception, status.Warnings} {
		for i := range in.Build.Steps {
			if s := &in.Build.Steps[i]; s.Done() && s.Result == want {
				return s
			}
		}
	}
	return nil
}

// failingLog picks the log of step to quote: "stdio" if it has one, else
// its last log.
func failingLog(s *status.Step) (status.LogRef, bool) {
	if len(s.Logs) == 0 {
		return status.LogRef{}, false
	}
	if i := slices.IndexFunc(s.Logs, func(l status.LogRef) bool { return l.Name == "stdio" }); i >= 0 {
		return s.Logs[i], true
	}
	return s.Logs[len(s.Logs)-1], true
}

// headline is the first sentence of the default message, after Buildbot's.
func headline(in *FormatInput) string {
	var what string
	switch {
	case in.Mode&Fixed != 0, in.Mode&Change != 0 && in.Result == status.Success:
		what = "a restored build"
	case in.Mode&(Problem|FirstFailure) != 0:
		what = "a new failure"
	case in.Mode&StillFailing != 0:
		what = "a build that is still failing"
	case in.Result == status.Success:
		what = "a passing build"
	case in.Result == status.Warnings:
		what = "a build with warnings"
	case in.Result == status.Failure:
		what = "a failed build"
	case in.Result == status.Exception:
		what = "a build that raised an exception"
	default:
		what = "a finished build (" + in.Result.String() + ")"
	}
	return fmt.Sprintf("%s has detected %s on builder %s while building %s.", in.Title, what, in.Builder, in.Project())
}

// verdict is the last line of the summary, after Buildbot's.
func verdict(in *FormatInput) string {
	t := in.Text()
	if t != "" {
		t = ": " + t
	}
	switch in.Result {
	case status.Success:
		return "Build succeeded!"
	case status.Warnings:
		return "Build had warnings" + t
	}
	return "BUILD FAILED" + t
}

// errNoBody is returned when a formatter gives neither text nor HTML.
var errNoBody = errors.New("mail: the MessageFormatter returned no Text and no HTML body")
