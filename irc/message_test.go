package irc

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseMessage(t *testing.T) {
	tests := []struct {
		in   string
		want message
	}{
		{"PING :irc.test.local", message{Command: "PING", Params: []string{"irc.test.local"}}},
		{":alice!~a@host PRIVMSG #builds :herald: status all", message{Prefix: "alice!~a@host", Command: "PRIVMSG", Params: []string{"#builds", "herald: status all"}}},
		{":srv 001 herald :Welcome to the Internet Relay Network herald!~herald@127.0.0.1", message{Prefix: "srv", Command: "001", Params: []string{"herald", "Welcome to the Internet Relay Network herald!~herald@127.0.0.1"}}},
		{"@time=2026-01-01T00:00:00Z :a!b@c privmsg  x  :hi  there ", message{Prefix: "a!b@c", Command: "PRIVMSG", Params: []string{"x", "hi  there "}}},
		{":srv CAP * LS :multi-prefix sasl=PLAIN", message{Prefix: "srv", Command: "CAP", Params: []string{"*", "LS", "multi-prefix sasl=PLAIN"}}},
		{"JOIN #a\r\n", message{Command: "JOIN", Params: []string{"#a"}}},
		{"PRIVMSG #a :", message{Command: "PRIVMSG", Params: []string{"#a", ""}}},
	}
	for _, tt := range tests {
		got, err := parseMessage(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseMessage(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "   ", ":prefixonly", "@tags-only", ": PRIVMSG", strings.Repeat("x", maxInbound+1)} {
		if m, err := parseMessage(bad); err == nil {
			t.Errorf("parseMessage(%q) = %#v, want an error", bad, m)
		}
	}
}

func TestFormatLineCleans(t *testing.T) {
	got := formatLine("PRIVMSG", "#c", "ok\r\nQUIT :pwned\x00")
	if want := "PRIVMSG #c :ok  QUIT :pwned "; got != want {
		t.Errorf("formatLine = %q, want %q", got, want)
	}
	if got := formatLine("JOIN", "#c", "key"); got != "JOIN #c key" {
		t.Errorf("formatLine = %q", got)
	}
	if got := formatLine("PRIVMSG", "#c", ":)"); got != "PRIVMSG #c ::)" {
		t.Errorf("formatLine = %q", got)
	}
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want []string
	}{
		{"hello world", 20, []string{"hello world"}},
		{"hello world", 5, []string{"hello", "world"}},
		{"hello   world  ", 8, []string{"hello", "world"}},
		{"abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"héhé héhé", 6, []string{"héhé", "héhé"}},
		{"ééééé", 5, []string{"éé", "éé", "é"}},
		{"   ", 5, nil},
	}
	for _, tt := range tests {
		if got := splitText(tt.in, tt.max); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestThrottle(t *testing.T) {
	th := newThrottle(4, time.Second)
	now := time.Unix(1000, 0)
	for i := range 4 {
		if d := th.wait(now); d != 0 {
			t.Fatalf("line %d of the burst waits %v", i+1, d)
		}
		th.take(now)
	}
	if d := th.wait(now); d != time.Second {
		t.Errorf("5th line waits %v, want 1s", d)
	}
	if d := th.wait(now.Add(400 * time.Millisecond)); d != 600*time.Millisecond {
		t.Errorf("400ms later the 5th line waits %v, want 600ms", d)
	}
	now = now.Add(time.Second)
	if d := th.wait(now); d != 0 {
		t.Errorf("after the interval the 5th line waits %v", d)
	}
	th.take(now)
	now = now.Add(10 * time.Second) // long idle: the bucket refills to the burst, no more
	for i := range 4 {
		if d := th.wait(now); d != 0 {
			t.Fatalf("after idling, line %d waits %v", i+1, d)
		}
		th.take(now)
	}
	if d := th.wait(now.Add(500 * time.Millisecond)); d != 500*time.Millisecond {
		t.Errorf("after the new burst the next line waits %v, want 500ms", d)
	}
}

// FuzzParseMessage checks the server line parser on any input: no panic,
// a bounded result, and a stable meaning when re-encoded.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		"PING :irc.test.local",
		":alice!~a@host PRIVMSG #builds :herald: status all",
		"@a=b;c :n!u@h PRIVMSG #x :\x01ACTION waves\x01",
		":srv CAP * LS * :sasl=PLAIN",
		":srv 353 bot = #c :@alice +bob",
		"  :x  Y   a b  :c d",
		"@",
		":",
		"\x00\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMessage(s)
		if err != nil {
			return
		}
		if m.Command == "" || strings.ContainsAny(m.Command, " ") {
			t.Fatalf("command %.100q from %.200q", m.Command, s)
		}
		for i, p := range m.Params {
			if i < len(m.Params)-1 && (p == "" || strings.Contains(p, " ") || p[0] == ':') {
				t.Fatalf("middle parameter %.100q from %.200q", p, s)
			}
		}
		if strings.ContainsAny(m.Prefix, " ") || strings.ContainsAny(m.Command, "\r\n") {
			t.Fatalf("bad prefix or command from %.200q", s)
		}
		// Re-encoding what was parsed must parse to the same message.
		if strings.ContainsAny(s, "\r\n\x00") {
			return
		}
		enc := m.Command
		if m.Prefix != "" {
			enc = ":" + m.Prefix + " " + enc
		}
		for i, p := range m.Params {
			if i == len(m.Params)-1 {
				p = ":" + p
			}
			enc += " " + p
		}
		m2, err := parseMessage(enc)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("%.200q parsed as %.300v; re-encoded %.200q parsed as %.300v, %v", s, m, enc, m2, err)
		}
	})
}

// FuzzSplitText checks that split text fits, keeps its words and its UTF-8.
func FuzzSplitText(f *testing.F) {
	f.Add("build #7 of linux is complete: Failure [failed test]", 10)
	f.Add("ééééé ü", 5)
	f.Add("a  b", 1)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 600 {
			return
		}
		parts := splitText(s, n)
		limit := max(n, utf8.UTFMax)
		for _, p := range parts {
			if len(p) > limit || p == "" || p[0] == ' ' || p[len(p)-1] == ' ' {
				t.Fatalf("splitText(%q, %d): bad part %q", s, n, p)
			}
			if utf8.ValidString(s) && !utf8.ValidString(p) {
				t.Fatalf("splitText(%q, %d): part %q is not UTF-8", s, n, p)
			}
		}
		if strings.ReplaceAll(strings.Join(parts, ""), " ", "") != strings.ReplaceAll(s, " ", "") {
			t.Fatalf("splitText(%q, %d) = %q lost or added text", s, n, parts)
		}
	})
}
