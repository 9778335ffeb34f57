package mail

import (
	"bytes"
	"context"
	"net/mail"
	"strings"
	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// FuzzParseMode: mode names come from configuration files.
func FuzzParseMode(f *testing.F) {
	for _, s := range []string{"all", "warnings", "failing,passing", "problem change", "still-failing", "", ",,", "nope"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMode(s)
		if err != nil {
			return
		}
		if m&^validModes != 0 {
			t.Fatalf("ParseMode(%q) = %#x: unknown bits", s, uint16(m))
		}
		again, err := ParseMode(m.String())
		// A lone "warnings" is the shortcut; its String lists both names.
		if err != nil || again != m && !(m == Warnings && again == WarningsOrWorse) {
			t.Fatalf("ParseMode(%q) = %v; round trip gives %v, %v", s, m, again, err)
		}
	})
}

// FuzzAuthorHeaders: author names, subjects and header values come from
// VCS users and builds. Whatever they hold, the encoded mail parses, has no
// header Herald did not set, and no recipient without an @.
func FuzzAuthorHeaders(f *testing.F) {
	f.Add("Alice <alice@example.org>", "subject", "value")
	f.Add("Mallory\r\nBcc: v@evil.example <m@example.org>", "s\r\nBcc: v@evil.example", "v\nX-Injected: 1")
	f.Add("=?utf-8?q?=0D=0ABcc:_x@y?= <a@b.c>", "\x00\x7f", "\t")
	f.Add("bob", "Ünïcödé sübject", "")
	f.Fuzz(func(t *testing.T, author, subject, value string) {
		b := statustest.NewBuild("b").Blame(author).Property("v", value).Failed().Build()
		o := Options{From: "ci@example.org", Domain: "example.org", Now: fixedNow,
			ExtraHeaders: map[string]status.Renderer{"X-V": status.MustInterpolate("%(prop:v)s")},
			MessageFormatter: FormatFunc(func(context.Context, *FormatInput) (*Content, error) {
				return &Content{Subject: subject, Text: "body"}, nil
			})}
		raw, err := Render(context.Background(), b, o)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("unparsable mail: %v\n%q", err, raw)
		}
		allowed := map[string]bool{"Date": true, "In-Reply-To": true, "Mime-Version": true, "Message-Id": true, "References": true,
			"Subject": true, "User-Agent": true, "X-V": true, "X-Mailer": true, "From": true, "To": true,
			"Content-Transfer-Encoding": true, "Content-Type": true}
		for k := range msg.Header {
			if !allowed[k] {
				t.Fatalf("unexpected header %q in\n%q", k, raw)
			}
		}
		if to := msg.Header.Get("To"); to != "" {
			list, err := mail.ParseAddressList(to)
			if err != nil {
				t.Fatalf("To %q: %v", to, err)
			}
			for _, a := range list {
				if !strings.Contains(a.Address, "@") {
					t.Fatalf("recipient %q", a.Address)
				}
			}
		}
	})
}

// FuzzTailLines: log contents are outside input; the tail is the naive
// tail whenever the window holds the whole log.
func FuzzTailLines(f *testing.F) {
	f.Add("a\nb\nc\n", 2)
	f.Add("no newline", 1)
	f.Add("\r\n\r\nx\r\n", 5)
	f.Add("", 3)
	f.Fuzz(func(t *testing.T, text string, n int) {
		n = n%50 + 1
		if n <= 0 {
			n = 1
		}
		got, err := tailLines(strings.NewReader(text), n, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		norm := strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
		var want []string
		if norm != "" {
			want = strings.Split(norm, "\n")
			if len(want) > n {
				want = want[len(want)-n:]
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
			t.Fatalf("tailLines(%q, %d) = %q, want %q", text, n, got, want)
		}
		small, err := tailLines(strings.NewReader(text), n, 16)
		if err != nil || len(small) > n {
			t.Fatalf("small window: %q, %v", small, err)
		}
	})
}

// FuzzCleanHeader: no control character survives.
func FuzzCleanHeader(f *testing.F) {
	f.Add("a\r\nb")
	f.Add("\x00\x1f\x7f plain")
	f.Fuzz(func(t *testing.T, s string) {
		c := cleanHeader(s)
		for i := 0; i < len(c); i++ {
			if c[i] < ' ' || c[i] == 0x7f {
				t.Fatalf("cleanHeader(%q) = %q", s, c)
			}
		}
	})
}
