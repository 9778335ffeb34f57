package gerrit

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// reviewCommand renders the "gerrit review" command line that posts rv on t.
// Every word that is not plainly safe is single-quoted, so the line splits
// into the same argv under Gerrit's own SSH command splitter (which knows
// single quotes, double quotes and backslashes) and under a POSIX shell (for
// setups that reach Gerrit through a login shell or a wrapper script).
// Buildbot 0.8.12 replaced ' by " in messages instead; here the message
// arrives verbatim.
func reviewCommand(t target, rv Review, tag, notify string) string {
	var b strings.Builder
	b.WriteString("gerrit review")
	word := func(w string) {
		b.WriteByte(' ')
		b.WriteString(shellQuote(w))
	}
	if t.Project != "" {
		word("--project")
		word(t.Project)
	}
	// Cleaned before the emptiness test: an empty word would vanish in
	// Gerrit's splitter and --message would swallow the next option.
	if msg := cleanText(rv.Message); msg != "" {
		word("--message")
		word(msg)
	}
	for _, name := range slices.Sorted(maps.Keys(rv.Labels)) {
		word("--label")
		word(name + "=" + strconv.Itoa(rv.Labels[name]))
	}
	if tag != "" {
		word("--tag")
		word(tag)
	}
	if notify != "" {
		word("--notify")
		word(notify)
	}
	word(t.sshRef())
	return b.String()
}

// shellQuote returns s as exactly one word for a POSIX shell and for
// Gerrit's command splitter. Inside single quotes both take every character
// literally (newlines, $, backticks, backslashes, double quotes), so the only
// character to escape is the single quote itself, which becomes
//
//	'\''
//
// (close the quotes, an escaped quote, reopen). The empty string becomes a
// pair of quotes, which Gerrit's splitter would drop: callers never pass it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, unsafeInWord) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// unsafeInWord reports whether r needs quoting. The safe set is small on
// purpose: letters, digits and punctuation that neither a shell (no ~ for
// tilde expansion, no glob or redirection characters) nor Gerrit treat
// specially.
func unsafeInWord(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune("-_.,:/=+@%", r)
}

// cleanText makes s safe to carry in an SSH exec request: invalid UTF-8
// becomes U+FFFD (Gerrit decodes the line as UTF-8 anyway) and NUL bytes,
// which no shell or Java string handling passes on, are dropped.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}
