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
		`{"message_id":1,"date":1700000000,"text":"/start","from":{"id":42,"is_bot":false,"first_name":"F","username":"alice"},"chat":{"id":42,"type":"private","title":"ops"}}`,
		`{"message_id":1,"date":1700000000,"text":"/status@herald_bot all","from":{"id":42,"is_bot":false,"first_name":"F","username":"alice"},"chat":{"id":-1001,"type":"supergroup","title":"ops"}}`,
		`{"message_id":1,"date":1700000000,"text":"@herald_bot: force build linux","from":{"id":42,"is_bot":false,"first_name":"F","username":"alice"},"chat":{"id":-1001,"type":"group","title":"ops"}}`,
		`{"message_id":1,"date":1700000000,"text":"@herald_botty status","from":{"id":42,"is_bot":false,"first_name":"F","username":""},"chat":{"id":-1001,"type":"group","title":"ops"}}`,
		`{"message_id":1,"date":1700000000,"text":"/status","from":{"id":42,"is_bot":false,"first_name":"F","username":"alice"},"chat":{"id":-1001,"type":"channel","title":"ops"}}`,
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
