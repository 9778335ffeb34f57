package telegram

import (
	"strings"
	"testing"
)

// FuzzUpdates feeds getUpdates results to the parser and the command
// reader: no panic, and a command is only ever read from a person's
// message, in the chat it came from.
func FuzzUpdates(f *testing.F) {
	for _, m := range []string{
		msg(42, "private", 42, "alice", "/start"),
		msg(-1001, "supergroup", 42, "alice", "/status@herald_bot all"),
		msg(-1001, "group", 42, "alice", "@herald_bot: force build linux"),
		msg(-1001, "group", 42, "", "@herald_botty status"),
		msg(-1001, "channel", 42, "alice", "/status"),
		`{"chat":{"id":1,"type":"private"},"text":"no sender"}`,
	} {
		f.Add([]byte(`[{"update_id":1,"message":` + m + `}]`))
	}
	f.Add([]byte(`[{"update_id":2,"edited_message":{}},{"update_id":3}]`))
	f.Add([]byte(`{"not":"a list"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		us, err := parseUpdates(data)
		if err != nil {
			return
		}
		for _, u := range us {
			r, text, ok := command(u, "herald_bot")
			if !ok {
				continue
			}
			m := u.Message
			if m.From == nil || m.From.IsBot || m.Chat.Type == "channel" {
				t.Fatalf("a command from %+v in %+v", m.From, m.Chat)
			}
			if (r.Room == "") != (m.Chat.Type == "private") || r.To == "" || r.Account == "" {
				t.Fatalf("request %+v for %+v", r, m)
			}
			if strings.HasPrefix(text, "/") {
				t.Fatalf("command text %q keeps its slash", text)
			}
		}
	})
}
