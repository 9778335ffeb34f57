package matrix

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/heraldci/herald/status"
)

// content is an m.room.message event's content as the bot sends it.
type content struct {
	MsgType       string `json:"msgtype"`
	Body          string `json:"body"`
	Format        string `json:"format,omitempty"`
	FormattedBody string `json:"formatted_body,omitempty"`
}

// Highlighted text travels from the engine to render between these
// private-use characters: open, the result's digit, the text, close.
const (
	markOpen  = '\uE000'
	markClose = '\uE001'
)

var resultColor = map[status.Result]string{
	status.Success:   "#2e7d32",
	status.Warnings:  "#b58900",
	status.Failure:   "#c62828",
	status.Skipped:   "#757575",
	status.Exception: "#6a1b9a",
	status.Retry:     "#00838f",
	status.Cancelled: "#ad1457",
}

// highlight is the engine's Highlight on Matrix.
func highlight(text string, r status.Result) string {
	text = strings.NewReplacer(string(markOpen), "", string(markClose), "").Replace(text)
	return string(markOpen) + string(rune('0'+int(r))) + text + string(markClose)
}

// render makes the content of text: the plain body without marks, and,
// when something is highlighted, an HTML body where every piece of text is
// escaped and highlights are coloured.
func render(text string) content {
	var body, h strings.Builder
	marked := false
	open := false
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		switch {
		case r == markOpen && !open && i < len(text):
			code, m := utf8.DecodeRuneInString(text[i:])
			color, ok := resultColor[status.Result(code-'0')]
			if code < '0' || code > '9' || !ok {
				continue // a stray mark: dropped
			}
			i += m
			open, marked = true, true
			h.WriteString(`<font color="` + color + `">`)
		case r == markOpen:
		case r == markClose:
			if open {
				h.WriteString("</font>")
				open = false
			}
		case r == '\n':
			body.WriteRune(r)
			h.WriteString("<br>")
		default:
			body.WriteRune(r)
			h.WriteString(html.EscapeString(string(r)))
		}
	}
	if open {
		h.WriteString("</font>")
	}
	c := content{MsgType: "m.notice", Body: body.String()}
	if marked {
		c.Format, c.FormattedBody = "org.matrix.custom.html", h.String()
	}
	return c
}

// maxBody bounds one message's text; longer text is split at line breaks
// (an event may have 65,536 bytes in all, HTML and envelope included).
const maxBody = 16 << 10

// split cuts text into pieces of at most maxBody bytes, at line breaks
// where it can, never inside a character or a highlight mark.
func split(text string) []string {
	var out []string
	text = strings.TrimRight(text, "\n")
	for len(text) > maxBody {
		cut := strings.LastIndexByte(text[:maxBody], '\n')
		if cut <= 0 {
			cut = maxBody
			for cut > 0 && !utf8.RuneStart(text[cut]) {
				cut--
			}
		}
		out = append(out, text[:cut])
		text = strings.TrimPrefix(text[cut:], "\n")
	}
	if strings.TrimSpace(text) != "" {
		out = append(out, text)
	}
	return out
}

// message is one message to send, with its transaction ID.
type message struct {
	room, txn string
	content   content
}

// batch names the messages of one event or command with transaction IDs
// made of the batch's key, the room, the text and how often the same text
// went to the same room in the batch: the same event reported again gets
// the same IDs, and the homeserver drops the repeats. (A retry says only
// what was not taken, so the same text twice to one room in one event, the
// second not taken, would be taken for the first: one such line is lost,
// which is no loss.) A batch is used by one Report or command, whose
// messages are said one after the other.
type batch struct {
	key  string
	seen map[string]int
}

func newBatch(key string) *batch { return &batch{key: key, seen: map[string]int{}} }

// add returns the messages that say text in room.
func (b *batch) add(room, text string) []message {
	var msgs []message
	for _, piece := range split(text) {
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%s\x00%s", b.key, room, piece)
		n := b.seen[string(h.Sum(nil))]
		b.seen[string(h.Sum(nil))] = n + 1
		fmt.Fprintf(h, "\x00%d", n)
		msgs = append(msgs, message{room: room, txn: "herald." + hex.EncodeToString(h.Sum(nil)[:16]), content: render(piece)})
	}
	return msgs
}

// syncResponse is the part of a /sync answer the bot reads.
type syncResponse struct {
	NextBatch string `json:"next_batch"`
	Rooms     struct {
		Join map[string]struct {
			Timeline struct {
				Events []event `json:"events"`
			} `json:"timeline"`
		} `json:"join"`
	} `json:"rooms"`
}

type event struct {
	Type    string          `json:"type"`
	Sender  string          `json:"sender"`
	EventID string          `json:"event_id"`
	Content json.RawMessage `json:"content"`
}

type messageEvent struct {
	MsgType   string `json:"msgtype"`
	Body      string `json:"body"`
	RelatesTo struct {
		RelType string `json:"rel_type"`
	} `json:"m.relates_to"`
}

// command is a message addressed to the bot.
type command struct {
	room, sender, eventID, text string
}

// maxCommand bounds the text of a command the bot runs.
const maxCommand = 1024

// parseSync reads a /sync answer: its next_batch and the commands
// addressed to the bot (userID) in the joined rooms' timelines, in order
// per room, rooms sorted. The bot's own messages, notices, edits and
// anything not m.text are not commands.
func parseSync(body []byte, userID string) (next string, cmds []command, err error) {
	var s syncResponse
	if err := json.Unmarshal(body, &s); err != nil {
		return "", nil, fmt.Errorf("matrix: reading the /sync answer: %w", err)
	}
	if s.NextBatch == "" {
		return "", nil, errors.New("matrix: the /sync answer has no next_batch")
	}
	rooms := make([]string, 0, len(s.Rooms.Join))
	for id := range s.Rooms.Join {
		rooms = append(rooms, id)
	}
	slices.Sort(rooms)
	for _, room := range rooms {
		if !validID(room, '!') {
			continue
		}
		for _, ev := range s.Rooms.Join[room].Timeline.Events {
			if ev.Type != "m.room.message" || ev.Sender == userID || !validID(ev.Sender, '@') || ev.EventID == "" {
				continue
			}
			var m messageEvent
			if json.Unmarshal(ev.Content, &m) != nil || m.MsgType != "m.text" || m.RelatesTo.RelType == "m.replace" {
				continue
			}
			if text, ok := addressed(m.Body, userID); ok {
				cmds = append(cmds, command{room: room, sender: ev.Sender, eventID: ev.EventID, text: text})
			}
		}
	}
	return s.NextBatch, cmds, nil
}

// addressed returns the command in body when it is addressed to the bot:
// "!status", "herald: status", "herald, status", "@herald:example.org: status".
func addressed(body, userID string) (string, bool) {
	body = strings.TrimSpace(body)
	if len(body) > maxCommand || !utf8.ValidString(body) {
		return "", false
	}
	if rest, ok := strings.CutPrefix(body, "!"); ok && rest != "" && rest[0] != ' ' && rest[0] != '!' {
		return rest, true
	}
	for _, name := range []string{userID, localpart(userID)} {
		if len(body) > len(name) && strings.EqualFold(body[:len(name)], name) && (body[len(name)] == ':' || body[len(name)] == ',') {
			if rest := strings.TrimSpace(body[len(name)+1:]); rest != "" {
				return rest, true
			}
		}
	}
	return "", false
}

// matrixError is the error body of the client-server API.
type matrixError struct {
	ErrCode      string `json:"errcode"`
	Error        string `json:"error"`
	RetryAfterMS int64  `json:"retry_after_ms"`
}
