package status

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestReplyText(t *testing.T) {
	const tok = "plain-SECRET-value-42"
	for _, tc := range []struct{ name, body, want string }{
		{"github", `{"message":"Validation Failed","errors":[{"resource":"Status","field":"state","code":"invalid"}],"documentation_url":"https://docs.github.com/rest"}`,
			"Validation Failed; Status state invalid"},
		{"github field message", `{"message":"Validation Failed","errors":[{"resource":"Status","code":"custom","message":"This SHA and context has reached the maximum number of statuses."}]}`,
			"Validation Failed; This SHA and context has reached the maximum number of statuses."},
		{"bitbucket server", `{"errors":[{"context":null,"message":"Authentication failed.","exceptionName":"x"},{"message":"second"}]}`,
			"Authentication failed.; second"},
		{"bitbucket cloud", `{"type":"error","error":{"message":"Bad request","detail":"key too long"}}`, "Bad request; key too long"},
		{"gitlab object", `{"message":{"name":["is too long"],"base":["cannot transition"]}}`, "base cannot transition; name is too long"},
		{"oauth", `{"error":"invalid_token","error_description":"expired"}`, "invalid_token; expired"},
		{"html", "<html>\n<body>Bad   gateway</body>\n</html>", "<html> <body>Bad gateway</body> </html>"},
		{"control characters", "a\x1b[31mred\x00\u2028b", "a [31mred b"},
		{"echoed token", "you sent " + tok + " which is wrong", "you sent <redacted> which is wrong"},
		{"echoed header", "Authorization: Basic Y2k6c2VjcmV0LXBhc3M=\r\nHost: x", "Authorization: Basic <redacted> Host: x"},
		{"named", `token=abcdef123456&password: hunter22 "private_token":"glsecret"`, `token=<redacted>&password: <redacted> "private_token":"<redacted>"`},
		{"known forms", "ghp_0123456789abcdefghijABCD and glpat-0123456789abcdefghij and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
			"<redacted> and <redacted> and <redacted>"},
		{"url", "fetch https://ci:pa55word@git.example.com/x failed", "fetch https://<redacted>@git.example.com/x failed"},
		{"json echo", `{"message":"bad header Bearer ` + tok + `"}`, "bad header Bearer <redacted>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, ReplyText([]byte(tc.body), tok))
		})
	}
	long := ReplyText([]byte(strings.Repeat("x", 5000)))
	assert.Equal(t, MaxReply, utf8.RuneCountInString(long))
	assert.True(t, strings.HasSuffix(long, "…"))
	// A secret that survives scrubbing (it is part of the marker) withholds
	// the reply rather than print it.
	assert.Equal(t, withheld, ReplyText([]byte("redact me"), "redact"))
}

// FuzzReplyText: whatever a server answers, the text is short, printable, and
// never holds the request's credential.
func FuzzReplyText(f *testing.F) {
	f.Add([]byte(`{"message":"x"}`), "token-value-1")
	f.Add([]byte(`{"errors":[{"message":"token-value-1"}]}`), "token-value-1")
	f.Add([]byte("Authorization: Bearer abcdefgh\x00"), "abcdefgh")
	f.Add([]byte(`{"message":{"a":[{"b":["c"]}]}}`), "zz")
	f.Fuzz(func(t *testing.T, body []byte, secret string) {
		got := ReplyText(body, secret)
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > MaxReply {
			t.Fatalf("Reply = %q", got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("control character in %q", got)
			}
		}
		if secret != "" && strings.Contains(got, secret) {
			t.Fatalf("ReplyText(%q) = %q holds the secret %q", body, got, secret)
		}
	})
}
