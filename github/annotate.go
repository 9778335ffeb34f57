package github

import (
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Annotation levels of check runs.
const (
	levelFailure = "failure"
	levelWarning = "warning"
)

// annotation is one log line that names a place in the repository.
type annotation struct {
	Path         string
	Line, Column int // Column 0: none given
	Level        string
	Message      string
}

// located matches "path:line: message" and "path:line:col: message" at the
// start of a line (after indentation, as go test prints them), the form Go,
// gcc, clang, make and eslint's unix formatter share. The path has no
// white space and no colon; the numbers are positive and short enough to
// fit any int.
var located = regexp.MustCompile(`^\s*([^\s:]+):([1-9][0-9]{0,8})(?::([1-9][0-9]{0,8}))?:\s*(\S.*?)\s*$`)

// ansi matches terminal colour and cursor sequences, which CI logs carry.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// maxAnnotationMessage bounds an annotation's message, in bytes (GitHub
// takes 64 KiB; a log line that long says nothing more).
const maxAnnotationMessage = 4 << 10

// parseAnnotation reads one log line. level is the annotation's level for
// its step (failure for failing steps, warning for steps with warnings); a
// message that starts with "warning" is a warning in any step, as compilers
// print warnings before the error that failed the step. checkout, when not
// empty, is the absolute checkout directory: paths under it become relative
// to it. The path is made relative to the repository: a leading "./" goes,
// backslashes become slashes; absolute paths outside the checkout, paths
// that leave it (..), and paths without a letter (times such as 10:30:45)
// yield nothing.
func parseAnnotation(line, level, checkout string) (annotation, bool) {
	line = ansi.ReplaceAllString(line, "")
	m := located.FindStringSubmatch(line)
	if m == nil {
		return annotation{}, false
	}
	p, ok := repoPath(m[1], checkout)
	if !ok {
		return annotation{}, false
	}
	a := annotation{Path: p, Level: level, Message: m[4]}
	a.Line, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		a.Column, _ = strconv.Atoi(m[3])
	}
	if strings.HasPrefix(strings.ToLower(a.Message), "warning") {
		a.Level = levelWarning
	}
	if len(a.Message) > maxAnnotationMessage {
		a.Message = cutBytes(a.Message, maxAnnotationMessage)
	}
	return a, true
}

// repoPath makes p relative to the repository, or says it is none of it.
func repoPath(p, checkout string) (string, bool) {
	if !strings.ContainsFunc(p, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }) {
		return "", false
	}
	p = strings.ReplaceAll(p, `\`, "/")
	if strings.HasPrefix(p, "/") {
		root := path.Clean(strings.ReplaceAll(checkout, `\`, "/"))
		if checkout == "" || !strings.HasPrefix(root, "/") {
			return "", false
		}
		rel, ok := strings.CutPrefix(path.Clean(p), strings.TrimSuffix(root, "/")+"/")
		if !ok {
			return "", false
		}
		p = rel
	}
	p = path.Clean(p)
	if p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
		return "", false
	}
	return p, true
}

// cutBytes cuts s to at most n bytes at a rune boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
