package web

import (
	"fmt"
	"html/template"
	"net/url"
	"regexp"
	"strings"
)

// RevLink returns the URL of a revision in a repository, or "" for none.
type RevLink func(revision, repository string) string

// RevLinkFormat links every revision with format, whose %s receives the
// URL-escaped revision: "https://github.com/org/repo/commit/%s".
func RevLinkFormat(format string) RevLink {
	return func(rev, _ string) string {
		if rev == "" {
			return ""
		}
		return strings.ReplaceAll(format, "%s", url.PathEscape(rev))
	}
}

// RevLinkMap links revisions with a format per repository (see
// RevLinkFormat); repositories not in m get no link.
func RevLinkMap(m map[string]string) RevLink {
	return func(rev, repo string) string {
		f, ok := m[repo]
		if !ok || rev == "" {
			return ""
		}
		return RevLinkFormat(f)(rev, repo)
	}
}

// URLFunc maps a project or repository name to a URL, or "".
type URLFunc func(name string) string

// URLMap maps names to URLs from a table.
func URLMap(m map[string]string) URLFunc {
	return func(name string) string { return m[name] }
}

// CommentLinker renders change comments of a project as HTML. The built-in
// linkers escape everything; a custom one must escape the text itself.
type CommentLinker func(comments, project string) template.HTML

// CommentLink links every match of pattern in comments, like Buildbot's
// changecommentlink tuple: replacement builds the URL and title the link's
// title from the match's groups, written Python style (\1, \g<0>, \g<name>)
// or Go style ($1, ${0}). For Trac tickets:
//
//	web.CommentLink(`#(\d+)`, `https://trac.example.org/ticket/\1`, `Ticket \g<0>`)
func CommentLink(pattern, replacement, title string) (CommentLinker, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("web: CommentLink pattern: %w", err)
	}
	repl, tit := goTemplate(replacement), goTemplate(title)
	return func(text, _ string) template.HTML {
		var b strings.Builder
		last := 0
		for _, m := range re.FindAllStringSubmatchIndex(text, -1) {
			b.WriteString(template.HTMLEscapeString(text[last:m[0]]))
			href := string(re.ExpandString(nil, repl, text, m))
			title := string(re.ExpandString(nil, tit, text, m))
			fmt.Fprintf(&b, `<a href="%s" title="%s">%s</a>`,
				template.HTMLEscapeString(safeURL(href)), template.HTMLEscapeString(title),
				template.HTMLEscapeString(text[m[0]:m[1]]))
			last = m[1]
		}
		b.WriteString(template.HTMLEscapeString(text[last:]))
		return template.HTML(b.String())
	}, nil
}

// CommentLinkMap picks a linker by the change's project; other projects'
// comments are only escaped.
func CommentLinkMap(m map[string]CommentLinker) CommentLinker {
	return func(text, project string) template.HTML {
		if l := m[project]; l != nil {
			return l(text, project)
		}
		return template.HTML(template.HTMLEscapeString(text))
	}
}

var pythonGroup = regexp.MustCompile(`\\(\d+)|\\g<(\w+)>`)

// goTemplate turns Python's \1 and \g<name> into regexp.Expand's ${1}.
func goTemplate(s string) string {
	return pythonGroup.ReplaceAllStringFunc(s, func(m string) string {
		g := pythonGroup.FindStringSubmatch(m)
		if g[1] != "" {
			return "${" + g[1] + "}"
		}
		return "${" + g[2] + "}"
	})
}

// safeURL keeps only http(s), mailto and relative URLs: a comment must not
// smuggle a javascript: link through a replacement.
func safeURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "#"
	}
	switch strings.ToLower(u.Scheme) {
	case "", "http", "https", "mailto":
		return s
	}
	return "#"
}
