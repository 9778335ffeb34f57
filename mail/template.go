package mail

import (
	"fmt"
	"slices"
	"strings"

	"github.com/heraldci/herald/status"
)

// Keywords are the values a mail's Subject and ExtraHeaders can name, as
// %(kw:NAME)s or, as in Buildbot 0.8.12's subject, plain %(NAME)s:
//
//	builder      the builder's name (the builders of a build set summary, joined by ", ")
//	result       the result: "success", "failure"...
//	title        Options.Title
//	projectName  Options.Title too, as in Buildbot 0.8.12
//	number       the build number (not in a build set summary)
//	project, branch, revision  of the build's first source stamp, when set
//	mode         the modes that fired: "failing", "problem,failing"...
//	reason       the build set's reason (build set summaries)
//
// Build properties are there too, as in any status.Interpolate template
// (%(prop:buildername)s, %(src::branch)s...).
var Keywords = []string{"builder", "result", "title", "projectName", "number", "project", "branch", "revision", "mode", "reason"}

// Interpolate parses a subject or header template: everything
// status.Interpolate accepts, plus the plain %(NAME)s keys of Buildbot
// 0.8.12's MailNotifier subject ("buildbot %(result)s in %(title)s on
// %(builder)s"), which stand for %(kw:NAME)s. NAME must be one of Keywords.
func Interpolate(format string) (status.Template, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		b.WriteByte(c)
		if c != '%' || i+1 >= len(format) {
			continue
		}
		if format[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		if format[i+1] != '(' {
			continue
		}
		name, ok := plainKey(format[i+2:])
		if !ok {
			continue
		}
		if !slices.Contains(Keywords, name) {
			return status.Template{}, fmt.Errorf("mail: template %q: unknown key %%(%s)s: use one of %s, or %%(prop:NAME)s for a property",
				format, name, strings.Join(Keywords, ", "))
		}
		b.WriteString("(kw:" + name + ")s")
		i += 1 + len(name) + 2
	}
	t, err := status.Interpolate(b.String())
	if err != nil {
		return status.Template{}, fmt.Errorf("mail: template %q: %w", format, err)
	}
	return t, nil
}

// MustInterpolate is Interpolate for constant templates; it panics on error.
func MustInterpolate(format string) status.Template {
	t, err := Interpolate(format)
	if err != nil {
		panic(err)
	}
	return t
}

// plainKey returns NAME when s starts with "NAME)s", NAME being a Python
// identifier (no selector, no modifier).
func plainKey(s string) (string, bool) {
	end := strings.Index(s, ")s")
	if end <= 0 {
		return "", false
	}
	name := s[:end]
	for i, r := range name {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return "", false
		}
	}
	return name, true
}
