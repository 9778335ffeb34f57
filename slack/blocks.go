package slack

import (
	"strings"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"
)

// maxSectionText is the most characters Slack takes in a section's text.
const maxSectionText = 3000

// messageBlocks renders what the engine said as Block Kit blocks: a
// section with the summary (the text up to its first double space, the
// engine's separator), and a context line with the rest (the build's
// link, the blamelist) or "Herald" when there is none.
func messageBlocks(text string) []slackapi.Block {
	summary, rest, _ := strings.Cut(plainText(text), "  ")
	ctx := "Herald"
	if rest = strings.TrimSpace(rest); rest != "" {
		ctx = strings.Join(strings.Fields(strings.ReplaceAll(rest, "  ", " · ")), " ")
	}
	return []slackapi.Block{
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, cut(escape(summary), maxSectionText), false, false), nil, nil),
		slackapi.NewContextBlock("", slackapi.NewTextBlockObject(slackapi.MarkdownType, cut(escape(ctx), maxSectionText), false, false)),
	}
}

// plainText removes control characters, which Slack shows as boxes.
func plainText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' && r != '\n' || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// escape makes text literal in Slack's mrkdwn: &, < and > are the only
// characters it asks to escape (build data cannot mention people or
// channels).
var escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// cut shortens s to n characters, the last one an ellipsis when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n-1 {
			return s[:k] + "…"
		}
		i++
	}
	return s
}
