package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// Options configures a Notifier. The zero value of every field but From is
// Buildbot 0.8.12's default; fields are named after Buildbot's arguments, and
// where Buildbot defaults to true the Go field says the opposite (Skip...) so
// that the zero value keeps Buildbot's behaviour.
type Options struct {
	// From is the sender ("Herald <ci@example.org>"). Required.
	From string

	// SkipInterestedUsers mails only ExtraRecipients: Buildbot's
	// sendToInterestedUsers=False. By default the interested users (the
	// build's blamelist and the users of its "owners" property) are mailed,
	// and ExtraRecipients go to Cc.
	SkipInterestedUsers bool
	// ExtraRecipients are full addresses mailed about every build.
	ExtraRecipients []string
	// Domain is your users' mail domain, Buildbot's lookup="example.org":
	// a bare VCS user name ("alice") is mailed at alice@Domain. Names that
	// carry an address ("Alice <alice@example.org>") keep it.
	Domain string
	// Lookup, when set, maps interested users to addresses instead of
	// Domain: Buildbot's IEmailLookup. Without Lookup or Domain, the
	// address part of "Name <address>" authors is used, then the Email of
	// the History user of that name.
	Lookup LookupFunc
	// RecipientDomains are the domains interested users may be mailed at,
	// besides Domain (subdomains included); with neither, the domain of
	// From. An address elsewhere (an author string of a webhook names
	// anyone it likes) is not mailed, and the skip is logged. The
	// addresses of History's users and ExtraRecipients are always mailed.
	RecipientDomains []string
	// AnyRecipientDomain mails interested users at any domain. Set it only
	// when every change comes from a source you trust: with webhooks,
	// whoever writes a commit's author line chooses the recipient, and the
	// mail carries their commit message.
	AnyRecipientDomain bool

	// Subject renders the subject (default DefaultSubject). Make it with
	// Interpolate, which takes Buildbot 0.8.12's subject strings as they
	// are ("%(builder)s" and the other keywords, see Interpolate), or with
	// status.RenderFunc. A MessageFormatter may override it per mail.
	Subject status.Renderer
	// Mode selects the builds to mail about (default DefaultMode).
	Mode Mode
	// StillFailingInterval limits StillFailing to one mail per builder and
	// branch per interval (by build finish time); 0 mails every failure.
	StillFailingInterval time.Duration

	// AddLogs attaches the build's logs; LogNames restricts (and implies)
	// it to logs named "log" or "step.log". Each attachment is cut at
	// MaxAttachmentSize bytes (default 1 MiB) with a note saying so.
	AddLogs           bool
	LogNames          []string
	MaxAttachmentSize int64
	// SkipPatch leaves out the patches of try builds (Buildbot's
	// addPatch=False); by default they are attached.
	SkipPatch bool
	// LogLines is how many last lines of the failing step's log the default
	// message quotes (default 25; negative: none).
	LogLines int

	// BuildSetSummary sends one mail per finished build set, covering its
	// builds that a Mode selects, instead of one mail per build.
	BuildSetSummary bool

	// RelayHost and Port name the SMTP server (default localhost:25, or
	// port 465 with ImplicitTLS).
	RelayHost string
	Port      int
	// UseTLS requires STARTTLS: sending fails when the server does not
	// offer it. ImplicitTLS speaks TLS from the first byte (port 465).
	UseTLS, ImplicitTLS bool
	// TLSConfig is used for both (default: verify against the system roots
	// with ServerName RelayHost).
	TLSConfig *tls.Config
	// Username and Password log in (AUTH) when Username is set. Without TLS
	// the password is only sent to a loopback relay.
	Username string
	Password status.Secret
	// AuthMechanism is "PLAIN", "LOGIN" or "CRAM-MD5"; "" picks the first
	// of those the server offers.
	AuthMechanism string
	// HELO is the name this client gives in EHLO (default "localhost").
	HELO string
	// Timeout bounds the sending of one mail, connection included
	// (default 30s).
	Timeout time.Duration
	// Sender delivers mails (default: SMTP to RelayHost with the options
	// above). Plug in another transport here.
	Sender Sender

	// MessageFormatter renders the content (default: DefaultFormat).
	MessageFormatter FormatFunc
	// ExtraHeaders are added to every mail. Values are texts like Subject;
	// names may be templates too (Interpolate syntax, rendered per mail;
	// a name that renders empty or invalid is left out and logged). Names
	// must be valid header names and not ones Herald sets itself.
	ExtraHeaders map[string]status.Renderer

	// History supplies previous builds, logs and users.
	History status.History
	// PreviousBuild returns the build to compare with for the Change,
	// Problem, Fixed, FirstFailure and StillFailing modes (default:
	// History.PreviousBuild). Returning nil suppresses those modes for the
	// build: Buildbot's previousBuildGetter.
	PreviousBuild func(ctx context.Context, b *status.Build) (*status.Build, error)

	// Title names the CI in subjects and bodies (default "Herald").
	Title string
	// BuildbotURL is the CI's main page, linked from mails: the web
	// status's root (web.Options.BaseURL, as HubOptions.WebURL).
	BuildbotURL string
	// BuildURL returns a build's page. Default: Build.URL, else (with
	// BuildbotURL) the build's page under BuildbotURL (status.Links). When
	// it is a page of the web status, mails link the build's logs too.
	BuildURL func(b *status.Build) string

	// Logger receives a line per mail sent. Default: the logger of the Hub
	// the notifier is added to (see status.Logging), and slog.Default()
	// until then.
	Logger *slog.Logger
	// Now is the clock for the Date header (default time.Now).
	Now func() time.Time
}

// DefaultSubject is the format of the default subject: Herald's wording of
// Buildbot's "buildbot %(result)s in %(title)s on %(builder)s", e.g.
// "Herald failure: linux #7 on main".
const DefaultSubject = "%(title)s %(result)s: %(builder)s%(kw:number:+ #%(number)s)s%(kw:branch:+ on %(branch)s)s"

const (
	defaultMaxAttachment = 1 << 20
	defaultLogLines      = 25
	defaultTimeout       = 30 * time.Second
)

// reservedHeaders are set by Herald; ExtraHeaders may not override them.
var reservedHeaders = []string{
	"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-Id", "In-Reply-To",
	"References", "Mime-Version", "Content-Type", "Content-Transfer-Encoding",
	"Content-Disposition", "Sender", "Return-Path",
}

// withDefaults validates o and fills in defaults. Errors say what to change.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("mail: "+format, args...)) }

	if strings.TrimSpace(o.From) == "" {
		bad("Options.From is empty: set the sender address")
	} else if _, err := parseAddress(o.From); err != nil {
		bad("Options.From %q is not an address: %v", o.From, err)
	}
	for _, r := range o.ExtraRecipients {
		if _, err := parseAddress(r); err != nil {
			bad("Options.ExtraRecipients: %q is not a full address (user@host): %v", r, err)
		}
	}
	if o.Mode == 0 {
		o.Mode = DefaultMode
	}
	if o.Mode&^validModes != 0 {
		bad("Options.Mode %v has unknown bits: combine the Mode constants or use ParseMode", o.Mode)
	}
	if o.Mode.needsPrevious() && o.History == nil && o.PreviousBuild == nil {
		bad("Options.Mode %v compares with the previous build: set Options.History or Options.PreviousBuild", o.Mode&(Change|Problem|Fixed|FirstFailure|StillFailing))
	}
	if o.StillFailingInterval < 0 {
		bad("Options.StillFailingInterval is negative")
	}
	if o.MaxAttachmentSize < 0 {
		bad("Options.MaxAttachmentSize is negative: use 0 for the default (1 MiB)")
	}
	if o.MaxAttachmentSize == 0 {
		o.MaxAttachmentSize = defaultMaxAttachment
	}
	if len(o.LogNames) > 0 {
		o.AddLogs = true
	}
	if o.LogLines == 0 {
		o.LogLines = defaultLogLines
	}
	if (o.AddLogs || o.LogLines > 0) && o.History == nil {
		// Logs come from History; without it mails simply carry none.
		o.AddLogs, o.LogLines = false, -1
	}
	if o.Domain != "" && !bareDomain(o.Domain) {
		bad("Options.Domain %q must be a bare domain such as \"example.org\"", o.Domain)
	}
	for _, d := range o.RecipientDomains {
		if !bareDomain(d) {
			bad("Options.RecipientDomains: %q must be a bare domain such as \"example.org\"", d)
		}
	}
	if o.RelayHost == "" {
		o.RelayHost = "localhost"
	}
	if o.UseTLS && o.ImplicitTLS {
		bad("Options.UseTLS (STARTTLS) and Options.ImplicitTLS are both set: choose one")
	}
	if o.Port == 0 {
		o.Port = 25
		if o.ImplicitTLS {
			o.Port = 465
		}
	}
	if o.Port < 0 || o.Port > 65535 {
		bad("Options.Port %d is out of range", o.Port)
	}
	if o.Username == "" && !o.Password.IsZero() {
		bad("Options.Password is set without Options.Username")
	}
	if o.Username != "" && o.Password.IsZero() {
		bad("Options.Username is set without Options.Password")
	}
	if o.Username != "" && !o.UseTLS && !o.ImplicitTLS && !isLoopback(o.RelayHost) && o.Sender == nil {
		bad("Options.Username is set but neither UseTLS nor ImplicitTLS: the password would cross the network in clear; set one")
	}
	switch strings.ToUpper(o.AuthMechanism) {
	case "", "PLAIN", "LOGIN", "CRAM-MD5":
		o.AuthMechanism = strings.ToUpper(o.AuthMechanism)
	default:
		bad("Options.AuthMechanism %q is not supported: use PLAIN, LOGIN, CRAM-MD5 or leave it empty", o.AuthMechanism)
	}
	if o.HELO == "" {
		o.HELO = "localhost"
	} else if strings.ContainsAny(o.HELO, " \r\n\t") {
		bad("Options.HELO %q contains spaces or line breaks", o.HELO)
	}
	if o.Timeout < 0 {
		bad("Options.Timeout is negative")
	}
	if o.Timeout == 0 {
		o.Timeout = defaultTimeout
	}
	for name, value := range o.ExtraHeaders {
		if strings.Contains(name, "%(") {
			if _, err := Interpolate(name); err != nil {
				bad("Options.ExtraHeaders: name %q: %v", name, err)
			}
		} else if err := checkHeaderName(name); err != nil {
			bad("Options.ExtraHeaders: %v", err)
		}
		if value == nil {
			bad("Options.ExtraHeaders[%q] is nil", name)
		}
	}
	if o.Subject == nil {
		o.Subject = MustInterpolate(DefaultSubject)
	}
	if o.MessageFormatter == nil {
		o.MessageFormatter = DefaultFormat
	}
	if o.Title == "" {
		o.Title = "Herald"
	}
	if o.BuildURL == nil {
		links, under := status.Links{Base: o.BuildbotURL}, o.BuildbotURL != ""
		o.BuildURL = func(b *status.Build) string {
			if b.URL == "" && under {
				return links.Build(b.Builder, b.Number)
			}
			return b.URL
		}
	}
	if o.PreviousBuild == nil && o.History != nil {
		h := o.History
		o.PreviousBuild = h.PreviousBuild
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, errors.Join(errs...)
}

// checkHeaderName accepts RFC 5322 field names that Herald does not set.
func checkHeaderName(name string) error {
	if name == "" {
		return errors.New("empty header name")
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return fmt.Errorf("header name %q: use printable ASCII without spaces or ':'", name)
		}
	}
	for _, r := range reservedHeaders {
		if strings.EqualFold(name, r) {
			return fmt.Errorf("header %q is set by Herald and cannot be overridden", name)
		}
	}
	return nil
}

// parseAddress parses one RFC 5322 address and refuses line breaks, which
// net/mail tolerates in some positions.
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("contains a line break")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(a.Address, "@") {
		return nil, errors.New("no @ in address")
	}
	return a, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// bareDomain accepts "example.org": no address, no spaces, at least one dot
// or a single label such as "localhost".
func bareDomain(d string) bool {
	return d != "" && !strings.ContainsAny(d, "@ <>\r\n\t,;") && !strings.HasPrefix(d, ".") && !strings.HasSuffix(d, ".")
}
