package status

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxReply is the most characters of a server's reply that go into an error
// message (and so into the Hub's log and Stats).
const MaxReply = 300

const replyRedacted = redacted

// withheld stands for a reply that still named a credential after
// scrubbing; it says why the text is missing.
const withheld = "(reply withheld: it contained a credential)"

var (
	// A credential after its scheme: "Bearer abc", "token abc".
	schemeCred = regexp.MustCompile(`(?i)\b(bearer|basic|token|bot)(\s+)[A-Za-z0-9._~+/=-]{6,}`)
	// A credential after its name: "Authorization: x", "password=x",
	// `"private_token": "x"`.
	namedCred = regexp.MustCompile(`(?i)\b(authorization|password|passwd|secret|client_secret|access_token|refresh_token|private[-_]token|api[-_]?key|token)(\s*"?'?\s*[:=]\s*"?'?\s*)([^\s"',;&<>]+)`)
	// Tokens recognisable by their form: GitHub's, GitLab's, Bitbucket
	// Data Center's, JSON Web Tokens.
	knownCred = regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,}|glpat-[A-Za-z0-9_-]{16,}|BBDC-[A-Za-z0-9+/=_-]{16,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+)`)
	// Credentials in a URL: https://user:pass@host.
	urlCred = regexp.MustCompile(`://[^/\s@:]+:[^/\s@]+@`)
)

// ReplyText makes a server's reply to a failed request fit for an error message
// and a log line. It takes the messages of a JSON error answer when there
// are any (GitHub's and GitLab's "message", Bitbucket's "errors", "error"
// and "error_description"), else the body; removes control characters and
// collapses white space; replaces each of secrets (the credentials the
// request carried, exactly) and anything shaped like a credential
// ("Authorization: …", "token=…", "Bearer …", known token formats,
// user:password@ in URLs) with <redacted>; and cuts the text to MaxReply
// characters. A server that echoes the request's headers back thus never
// puts a token into Herald's logs.
func ReplyText(body []byte, secrets ...string) string {
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	if msgs := jsonMessages(body); len(msgs) > 0 {
		s = strings.Join(msgs, "; ")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, replyRedacted)
		}
	}
	s = schemeCred.ReplaceAllString(s, "${1}${2}"+replyRedacted)
	s = namedCred.ReplaceAllStringFunc(s, func(m string) string {
		sub := namedCred.FindStringSubmatch(m)
		switch strings.ToLower(sub[3]) {
		case "bearer", "basic", "token", "bot":
			return m // "Authorization: Bearer <replyRedacted>": done above
		}
		return sub[1] + sub[2] + replyRedacted
	})
	s = knownCred.ReplaceAllString(s, replyRedacted)
	s = urlCred.ReplaceAllString(s, "://"+replyRedacted+"@")
	s = cutRunes(s, MaxReply)
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			return withheld
		}
	}
	return s
}

// jsonMessages collects the human-readable messages of a JSON error
// answer, in the shapes forges use: {"message": "…"} (GitHub, GitLab,
// Gitea; GitLab's may be an object of lists), {"errors": [{"message": "…"}]}
// (Bitbucket Server; GitHub adds resource/field/code), {"error": "…"} or
// {"error": {"message": "…", "detail": "…"}} (Bitbucket Cloud, OAuth) and
// "error_description".
func jsonMessages(body []byte) []string {
	var v map[string]any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var out []string
	for _, k := range []string{"message", "error", "error_description", "errors", "detail"} {
		collect(v[k], &out, 0)
	}
	return out
}

func collect(v any, out *[]string, depth int) {
	if depth > 4 || len(*out) >= 20 {
		return
	}
	switch v := v.(type) {
	case string:
		if s := strings.TrimSpace(v); s != "" {
			*out = append(*out, s)
		}
	case []any:
		for _, x := range v {
			collect(x, out, depth+1)
		}
	case map[string]any:
		n := len(*out)
		for _, k := range []string{"message", "detail", "error"} {
			collect(v[k], out, depth+1)
		}
		if len(*out) == n {
			// GitHub's field errors: {"resource", "field", "code"}.
			var parts []string
			for _, k := range []string{"resource", "field", "code"} {
				if s, ok := v[k].(string); ok && s != "" {
					parts = append(parts, s)
				}
			}
			if len(parts) > 0 {
				*out = append(*out, strings.Join(parts, " "))
				return
			}
			// GitLab's {"message": {"name": ["is too long"]}}.
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				var sub []string
				collect(v[k], &sub, depth+1)
				for _, s := range sub {
					*out = append(*out, k+" "+s)
				}
			}
		}
	}
}

// cutRunes cuts s to n characters, the last one an ellipsis when cut.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	count := 0
	for i := range s {
		if count == n-1 {
			return s[:i] + "…"
		}
		count++
	}
	return s
}
