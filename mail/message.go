package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one mail as Herald composed it, before encoding. A Sender gets
// it beside the encoded bytes, for transports that want structure (an HTTP
// mail API) rather than RFC 5322 text.
type Message struct {
	From    *mail.Address
	To, Cc  []*mail.Address
	Subject string
	Date    time.Time
	// MessageID, InReplyTo and References hold message IDs without angle
	// brackets. MessageID is derived from the build, so a retried mail
	// keeps its ID and receivers can drop duplicates.
	MessageID  string
	InReplyTo  string
	References []string
	// Headers are the extra headers (Options.ExtraHeaders and the
	// formatter's), already checked and free of line breaks.
	Headers     []Header
	Text, HTML  string
	Attachments []Attachment
}

// Header is one extra header field.
type Header struct{ Name, Value string }

// Attachment is a file attached to a mail: a log or a patch.
type Attachment struct {
	Name        string
	ContentType string // e.g. "text/plain; charset=utf-8"
	Data        []byte
}

// Encode returns m as RFC 5322 bytes (MIME, CRLF line ends), encoded by
// go-mail. Multipart boundaries are random, so two encodings of a message
// differ in them only.
func (m *Message) Encode() ([]byte, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.SetUserAgent("Herald")
	msg.FromMailAddress(m.From)
	if len(m.To) > 0 {
		msg.ToMailAddress(m.To...)
	}
	if len(m.Cc) > 0 {
		msg.CcMailAddress(m.Cc...)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(m.Date)
	msg.SetMessageIDWithValue(m.MessageID)
	if m.InReplyTo != "" {
		msg.SetGenHeader(gomail.HeaderInReplyTo, "<"+m.InReplyTo+">")
	}
	if len(m.References) > 0 {
		refs := make([]string, len(m.References))
		for i, r := range m.References {
			refs[i] = "<" + r + ">"
		}
		// One value: go-mail joins several with commas, References wants spaces.
		msg.SetGenHeader(gomail.HeaderReferences, strings.Join(refs, " "))
	}
	for _, h := range m.Headers {
		msg.SetGenHeader(gomail.Header(h.Name), h.Value)
	}
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	}
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return nil, fmt.Errorf("mail: attaching %s: %w", a.Name, err)
		}
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("mail: encoding the message: %w", err)
	}
	return buf.Bytes(), nil
}

// cleanHeader makes a user-derived value safe for one header line: every
// control character (CR and LF included) becomes a space, so no value can
// start a header of its own, and runs of spaces collapse.
func cleanHeader(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return strings.TrimSpace(s)
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || r == ' ' }), " ")
}

// cleanFileName keeps attachment names to a safe, portable alphabet.
func cleanFileName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "attachment"
	}
	return string(b)
}

// messageID makes a stable ID from parts: the same build gives the same ID.
func messageID(domain, kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	sum := hex.EncodeToString(h.Sum(nil)[:10])
	return "herald." + kind + "." + sum + "@" + domain
}

// domainOf returns the domain of an address, for message IDs.
func domainOf(a *mail.Address) string {
	if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i+1 < len(a.Address) {
		return cleanFileName(a.Address[i+1:])
	}
	return "herald.invalid"
}
