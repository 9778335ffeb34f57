package irc

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// maxLine is the longest line RFC 1459 allows, CR LF included. Servers
// disconnect clients that send longer lines (ngircd: "Request too long"),
// and they cut what they relay to others at the same length, prefix
// included, which is why outgoing text is split against the relayed size.
const maxLine = 512

// maxInbound bounds an incoming line: 512 bytes plus room for IRCv3 message
// tags (8191 bytes), so a hostile server cannot make the reader buffer grow.
const maxInbound = 8191 + maxLine

// message is one parsed IRC line. IRCv3 tags are skipped: the bot needs none.
type message struct {
	Prefix  string   // "nick!user@host" or a server name; "" when absent
	Command string   // upper-cased: "PRIVMSG", "001"
	Params  []string // the last may contain spaces (the trailing parameter)
}

var (
	errEmptyLine = errors.New("irc: empty line")
	errNoCommand = errors.New("irc: line without a command")
	errTooLong   = errors.New("irc: line too long")
	errBadByte   = errors.New("irc: CR, LF or NUL inside a line")
)

// parseMessage parses one line as a server sends it, without CR LF.
func parseMessage(line string) (message, error) {
	var m message
	if len(line) > maxInbound {
		return m, errTooLong
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.ContainsAny(line, "\r\n\x00") {
		return m, errBadByte
	}
	if strings.HasPrefix(line, "@") { // IRCv3 tags
		_, rest, ok := strings.Cut(line, " ")
		if !ok {
			return m, errNoCommand
		}
		line = rest
	}
	line = strings.TrimLeft(line, " ")
	if line == "" {
		return m, errEmptyLine
	}
	if line[0] == ':' {
		prefix, rest, ok := strings.Cut(line[1:], " ")
		if !ok || prefix == "" {
			return m, errNoCommand
		}
		m.Prefix = prefix
		line = strings.TrimLeft(rest, " ")
	}
	cmd, rest, _ := strings.Cut(line, " ")
	if !validCommand(cmd) {
		return m, errNoCommand
	}
	m.Command = upperASCII(cmd)
	for rest != "" {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			break
		}
		if rest[0] == ':' {
			m.Params = append(m.Params, rest[1:])
			break
		}
		var p string
		p, rest, _ = strings.Cut(rest, " ")
		m.Params = append(m.Params, p)
	}
	return m, nil
}

// validCommand reports whether s is a command name or a numeric: RFC 1459
// allows letters or digits only.
func validCommand(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// upperASCII upper-cases ASCII letters only: commands are ASCII, and
// strings.ToUpper would turn invalid UTF-8 into longer replacement runes.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// Nick returns the nick of the prefix ("alice" of "alice!~a@host").
func (m *message) Nick() string {
	nick, _, _ := strings.Cut(m.Prefix, "!")
	return nick
}

// Param returns the i-th parameter or "".
func (m *message) Param(i int) string {
	if i < len(m.Params) {
		return m.Params[i]
	}
	return ""
}

// formatLine encodes a command with its parameters, without CR LF. Every
// parameter is cleaned of CR, LF and NUL (they would end the line early and
// let build data inject commands); the last one is sent as trailing
// parameter when it needs to be.
func formatLine(cmd string, params ...string) string {
	var b strings.Builder
	b.WriteString(cmd)
	for i, p := range params {
		p = clean(p)
		b.WriteByte(' ')
		if i == len(params)-1 && (p == "" || strings.ContainsRune(p, ' ') || p[0] == ':') {
			b.WriteByte(':')
		} else {
			p = strings.ReplaceAll(p, " ", "")
		}
		b.WriteString(p)
	}
	return b.String()
}

// clean replaces CR, LF and NUL by spaces: build data (reasons, step texts,
// commit messages) may hold them and IRC lines must not.
func clean(s string) string {
	if !strings.ContainsAny(s, "\r\n\x00") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

// splitText cuts text into pieces of at most max bytes, at spaces where it
// can and never inside a UTF-8 sequence. Runs of spaces at the cuts are
// dropped; text of only spaces yields nothing.
func splitText(text string, max int) []string {
	if max < utf8.UTFMax {
		max = utf8.UTFMax
	}
	var out []string
	for {
		text = strings.TrimLeft(text, " ")
		if len(text) <= max {
			text = strings.TrimRight(text, " ")
			if text != "" {
				out = append(out, text)
			}
			return out
		}
		cut := strings.LastIndexByte(text[:max+1], ' ')
		if cut <= 0 { // one word longer than max: cut it at a rune boundary
			cut = max
			for cut > 0 && !utf8.RuneStart(text[cut]) {
				cut--
			}
			if cut == 0 {
				cut = max
			}
		}
		out = append(out, strings.TrimRight(text[:cut], " "))
		text = text[cut:]
	}
}
