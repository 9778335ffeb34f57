package chat

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// formatter renders what the bot says about builds. Its output is plain
// text but for Options.Highlight: the Transport cleans and splits it.
type formatter struct {
	highlight func(text string, r status.Result) string
	revisions bool // name builds by revisions, not numbers
	blame     bool
	now       func() time.Time
}

// resultTitle is Buildbot's capitalised result name ("Failure").
func resultTitle(r status.Result) string {
	s := r.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

// started announces a build that started.
func (f formatter) started(b *status.Build) string {
	if f.revisions {
		return fmt.Sprintf("build containing revision(s) [%s] on %s started", revisions(b), b.Builder)
	}
	s := fmt.Sprintf("build #%d of %s started", b.Number, b.Builder)
	var revs []string
	for _, c := range b.Changes() {
		revs = append(revs, shortRevision(c.Revision))
	}
	if len(revs) > 0 {
		s += ", including [" + strings.Join(revs, ", ") + "]"
	}
	return s
}

// finished announces a build that finished.
func (f formatter) finished(b *status.Build) string {
	var s string
	if f.revisions {
		s = fmt.Sprintf("build containing revision(s) [%s] on %s is complete: %s", revisions(b), b.Builder, resultTitle(b.Result))
	} else {
		s = fmt.Sprintf("build #%d of %s is complete: %s", b.Number, b.Builder, resultTitle(b.Result))
	}
	s += " [" + f.highlight(buildText(b), b.Result) + "]"
	if b.URL != "" {
		s += "  Build details are at " + b.URL
	}
	if f.blame && b.Result != status.Success && len(b.Blamelist) > 0 {
		s += "  blamelist: " + strings.Join(uniqueNames(b.Blamelist), ", ")
	}
	return s
}

// watched tells who asked to watch a build that it finished.
func (f formatter) watched(b *status.Build) []string {
	var s string
	if f.revisions {
		s = fmt.Sprintf("Hey! build %s containing revision(s) [%s] is complete: %s", b.Builder, revisions(b), resultTitle(b.Result))
	} else {
		s = fmt.Sprintf("Hey! build %s #%d is complete: %s", b.Builder, b.Number, resultTitle(b.Result))
	}
	out := []string{s + " [" + f.highlight(buildText(b), b.Result) + "]"}
	if b.URL != "" {
		out = append(out, "Build details are at "+b.URL)
	}
	return out
}

// forcedStarted tells the requester of a forced build that it started.
func (f formatter) forcedStarted(b *status.Build) string {
	if f.revisions {
		return fmt.Sprintf("build containing revision(s) [%s] on %s forced; I'll give a shout when it finishes", revisions(b), b.Builder)
	}
	return fmt.Sprintf("build #%d of %s forced; I'll give a shout when it finishes", b.Number, b.Builder)
}

// watching confirms a watch.
func (f formatter) watching(b *status.Build) string {
	if f.revisions {
		return fmt.Sprintf("watching build %s containing revision(s) [%s] until it finishes..", b.Builder, revisions(b))
	}
	return fmt.Sprintf("watching build %s #%d until it finishes..", b.Builder, b.Number)
}

// builderStatus says what a builder is doing: "linux: idle, last build 5m03s
// ago: build successful" or "linux: building (compile), (test)".
func (f formatter) builderStatus(bl *status.Builder, running []*status.Build, last *status.Build) string {
	s := bl.Name + ": "
	switch {
	case bl.State == status.Offline:
		s += "offline"
	case len(running) > 0:
		s += "building"
		var steps []string
		for _, b := range running {
			steps = append(steps, "("+currentStep(b)+")")
		}
		s += " " + strings.Join(steps, ", ")
	default:
		s += "idle"
		if last != nil {
			s += fmt.Sprintf(", last build %s ago: %s", duration(f.now().Sub(last.Finished)), buildText(last))
		}
	}
	return s
}

// last reports the last finished build of a builder.
func (f formatter) last(name string, b *status.Build) string {
	if b == nil {
		return fmt.Sprintf("last build [%s]: (no finished build)", name)
	}
	return fmt.Sprintf("last build [%s]: %s ago: %s", name, duration(f.now().Sub(b.Finished)), buildText(b))
}

// currentStep describes the step a running build is in.
func currentStep(b *status.Build) string {
	for i := len(b.Steps) - 1; i >= 0; i-- {
		if st := &b.Steps[i]; !st.Done() {
			if len(st.Text) > 0 {
				return strings.Join(st.Text, " ")
			}
			return st.Name
		}
	}
	return "no current step"
}

// buildText is the build's short text ("failed test"), or its result.
func buildText(b *status.Build) string {
	if len(b.Text) > 0 {
		return strings.Join(b.Text, " ")
	}
	return b.Result.String()
}

// revisions lists the revisions of a build's source stamps, short.
func revisions(b *status.Build) string {
	var revs []string
	for _, s := range b.Sources {
		if s.Revision != "" {
			revs = append(revs, shortRevision(s.Revision))
		}
	}
	return strings.Join(revs, ", ")
}

// shortRevision shortens commit hashes to 7 characters, as the spec asks:
// several revisions in one build would not fit an IRC line otherwise.
// Revision numbers (Subversion) are kept.
func shortRevision(rev string) string {
	if len(rev) <= 7 {
		return rev
	}
	for i := 0; i < len(rev); i++ {
		c := rev[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return rev
		}
	}
	return rev[:7]
}

// uniqueNames keeps the first occurrence of each blamed user, by name.
func uniqueNames(who []string) []string {
	var out []string
	for _, w := range who {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// duration formats like Buildbot: "42 seconds", "5m03s", "2h05m03s".
func duration(d time.Duration) string {
	s := int(max(d, 0) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm%02ds", s/3600, s/60%60, s%60)
}
