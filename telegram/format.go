package telegram

import (
	"strings"
	"unicode/utf16"

	"github.com/heraldci/herald/status"
)

// maxText is sendMessage's limit: 4096 characters (UTF-16 code units)
// after entities parsing.
const maxText = 4096

// The chat engine's Highlight marks results with these private-use runes;
// say turns them into <b> and </b> after escaping the text.
const (
	boldOn  = '\uE000'
	boldOff = '\uE001'
)

// highlight is the chat engine's Highlight in HTML mode.
func highlight(text string, _ status.Result) string {
	return string(boldOn) + stripMarks(text) + string(boldOff)
}

func stripMarks(s string) string {
	return strings.Map(func(r rune) rune {
		if r == boldOn || r == boldOff {
			return -1
		}
		return r
	}, s)
}

// balanced reports whether the marks in s pair up without nesting, so
// build data carrying a mark cannot make unbalanced HTML.
func balanced(s string) bool {
	open := false
	for _, r := range s {
		switch r {
		case boldOn:
			if open {
				return false
			}
			open = true
		case boldOff:
			if !open {
				return false
			}
			open = false
		}
	}
	return !open
}

// split cuts text into messages of at most max UTF-16 code units (marks
// count for nothing), at the last line break, else the last space, else
// anywhere; a bold span cut in two is closed and reopened.
func split(text string, max int) []string {
	var out []string
	open := false // a bold span goes on from the previous chunk
	for {
		text = strings.TrimLeft(text, " \n")
		if strings.Trim(stripMarks(text), " \n") == "" {
			return out
		}
		cut := cutAt(text, max)
		chunk := strings.TrimRight(text[:cut], " \n")
		text = text[cut:]
		if open {
			chunk = string(boldOn) + chunk
		}
		if open = strings.LastIndex(chunk, string(boldOn)) > strings.LastIndex(chunk, string(boldOff)); open {
			chunk += string(boldOff)
		}
		chunk = strings.ReplaceAll(chunk, string(boldOn)+string(boldOff), "")
		if strings.Trim(stripMarks(chunk), " \n") != "" {
			out = append(out, chunk)
		}
	}
}

// cutAt returns where to cut text for a message of at most max UTF-16 code
// units: all of it if it fits, else after the last line break, else the
// last space, else after as many runes as fit (at least one).
func cutAt(text string, max int) int {
	lastNL, lastSP, n := -1, -1, 0
	for i, r := range text {
		if r == boldOn || r == boldOff {
			continue
		}
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if n+w > max {
			switch {
			case lastNL > 0:
				return lastNL
			case lastSP > 0:
				return lastSP
			case i > 0:
				return i
			}
			return len(string(r))
		}
		n += w
		switch r {
		case '\n':
			lastNL = i
		case ' ':
			lastSP = i
		}
	}
	return len(text)
}

// toHTML escapes text for parse mode HTML (which wants <, > and & as
// entities) and turns the marks into <b>.
func toHTML(text string) string { return htmlReplacer.Replace(text) }

var htmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", string(boldOn), "<b>", string(boldOff), "</b>")
