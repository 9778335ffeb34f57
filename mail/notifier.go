package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/status"
)

// Notifier mails people about finished builds: Buildbot's MailNotifier. It
// acts on BuildFinished events, or on BuildSetFinished with
// Options.BuildSetSummary, and ignores every other kind. It is safe for
// concurrent use; Report blocks for one SMTP session at most (bounded by
// Options.Timeout and ctx).
type Notifier struct {
	o       Options
	from    *mail.Address
	extra   []*mail.Address
	sender  Sender
	domain  string   // of From: Message-IDs are made in it
	domains []string // where interested users may be mailed
	headers []extraHeader
	kinds   status.KindSet
	inherit func(*slog.Logger)

	mu      sync.Mutex
	threads map[string]*thread
	closed  bool
}

// thread remembers the last mail about one builder and branch, so the next
// one can reply to it (mail clients then group them) and StillFailing
// reminders can be spaced.
type thread struct {
	lastID   string
	lastSent time.Time // the finish time of the build last mailed
}

// maxThreads bounds the thread memory: beyond it, an arbitrary thread is
// forgotten (its next mail starts a new thread under the same root).
const maxThreads = 4096

// extraHeader is one of Options.ExtraHeaders, its name parsed when it is a
// template.
type extraHeader struct {
	name     string
	template *status.Template // nil: name is literal
	value    status.Renderer
}

var (
	_ status.Reporter  = (*Notifier)(nil)
	_ status.Closer    = (*Notifier)(nil)
	_ status.Named     = (*Notifier)(nil)
	_ status.Selective = (*Notifier)(nil)
	_ status.Logging   = (*Notifier)(nil)
)

// InheritLogger implements status.Logging: without Options.Logger the
// notifier logs through l.
func (n *Notifier) InheritLogger(l *slog.Logger) { n.inherit(l) }

// New validates o and returns a Notifier. Every problem with o is reported
// at once, each saying which option to change.
func New(o Options) (*Notifier, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Notifier{o: o, threads: map[string]*thread{}}
	n.o.Logger, n.inherit = hublog.New(o.Logger)
	n.from, _ = parseAddress(o.From)
	for _, r := range o.ExtraRecipients {
		a, _ := parseAddress(r)
		n.extra = append(n.extra, a)
	}
	n.domain = domainOf(n.from)
	n.domains = append(n.domains, o.RecipientDomains...)
	if o.Domain != "" {
		n.domains = append(n.domains, o.Domain)
	}
	if len(n.domains) == 0 {
		n.domains = []string{n.domain}
	}
	for _, name := range slices.Sorted(maps.Keys(o.ExtraHeaders)) {
		h := extraHeader{name: name, value: o.ExtraHeaders[name]}
		if strings.Contains(name, "%(") {
			t, _ := Interpolate(name) // checked by withDefaults
			h.template = &t
		}
		n.headers = append(n.headers, h)
	}
	n.kinds = status.KindsOf(status.BuildFinished)
	if o.BuildSetSummary {
		n.kinds = status.KindsOf(status.BuildSetFinished)
	}
	n.sender = o.Sender
	if n.sender == nil {
		n.sender = newSMTPSender(&n.o)
	}
	return n, nil
}

// Handles implements status.Selective: BuildFinished, or BuildSetFinished
// with Options.BuildSetSummary.
func (n *Notifier) Handles(k status.Kind) bool { return n.kinds.Has(k) }

// Name implements status.Named.
func (n *Notifier) Name() string { return "mail" }

// String describes the notifier without its password.
func (n *Notifier) String() string {
	return fmt.Sprintf("mail.Notifier{from: %s, mode: %v, sender: %v}", n.from, n.o.Mode, n.sender)
}

// Close implements status.Closer. Sessions are not kept between mails, so
// there is nothing to release; later Reports fail.
func (n *Notifier) Close(context.Context) error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	return nil
}

// errClosed is returned by Report after Close.
var errClosed = errors.New("mail: Report after Close")

// Report mails about e if it is a finished build (or build set) that the
// options select. Failures to send are status.Retryable when transient.
func (n *Notifier) Report(ctx context.Context, e status.Event) error {
	switch {
	case e.Kind == status.BuildFinished && e.Build != nil && !n.o.BuildSetSummary:
		return n.reportBuild(ctx, e.Build)
	case e.Kind == status.BuildSetFinished && e.BuildSet != nil && n.o.BuildSetSummary:
		return n.reportBuildSet(ctx, e.BuildSet)
	}
	return nil
}

// item is one build of a mail, with why it is mailed.
type item struct {
	b     *status.Build
	fired Mode
	prev  *status.Build
}

// decide returns the modes that fire for b and the build compared with.
func (n *Notifier) decide(ctx context.Context, b *status.Build) (item, error) {
	it := item{b: b}
	if n.o.Mode.needsPrevious() && n.o.PreviousBuild != nil {
		prev, err := n.o.PreviousBuild(ctx, b)
		if err != nil && !errors.Is(err, status.ErrNotFound) {
			return it, fmt.Errorf("mail: finding the build before %s #%d: %w", b.Builder, b.Number, err)
		}
		it.prev = prev
	}
	it.fired = n.o.Mode.Fired(b.Result, it.prev)
	if it.fired == StillFailing && n.o.StillFailingInterval > 0 {
		n.mu.Lock()
		t := n.threads[threadKey(b)]
		if t != nil && !t.lastSent.IsZero() && b.Finished.Sub(t.lastSent) < n.o.StillFailingInterval {
			it.fired = 0
		}
		n.mu.Unlock()
	}
	return it, nil
}

func (n *Notifier) reportBuild(ctx context.Context, b *status.Build) error {
	if !b.Done() {
		return nil
	}
	if err := n.checkOpen(ctx); err != nil {
		return err
	}
	it, err := n.decide(ctx, b)
	if err != nil || it.fired == 0 {
		return err
	}
	m, rc, err := n.compose(ctx, []item{it}, nil)
	if err != nil {
		return err
	}
	return n.send(ctx, m, rc, threadKey(b), b.Finished)
}

func (n *Notifier) reportBuildSet(ctx context.Context, bs *status.BuildSet) error {
	if err := n.checkOpen(ctx); err != nil {
		return err
	}
	var items []item
	for _, b := range bs.Builds {
		if b == nil || !b.Done() {
			continue
		}
		it, err := n.decide(ctx, b)
		if err != nil {
			return err
		}
		if it.fired != 0 {
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return nil
	}
	m, rc, err := n.compose(ctx, items, bs)
	if err != nil {
		return err
	}
	return n.send(ctx, m, rc, buildSetThreadKey(bs, items), bs.Finished)
}

func (n *Notifier) checkOpen(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errClosed
	}
	return nil
}

// send encodes and delivers m, then remembers it for threading.
func (n *Notifier) send(ctx context.Context, m *Message, rc *recipients, key string, finished time.Time) error {
	if len(rc.To)+len(rc.Cc) == 0 {
		n.o.Logger.DebugContext(ctx, "mail: no recipients, nothing sent", "subject", m.Subject, "skipped_users", rc.skipped)
		return nil
	}
	data, err := m.Encode()
	if err != nil {
		return err
	}
	env := &Envelope{From: n.from.Address, To: rc.all(), Data: data, Message: m}
	if err := n.sender.Send(ctx, env); err != nil {
		return err
	}
	n.remember(key, m.MessageID, finished)
	n.o.Logger.InfoContext(ctx, "mail: sent", "subject", m.Subject, "recipients", len(env.To), "bytes", len(data), "message_id", m.MessageID)
	return nil
}

func (n *Notifier) remember(key, id string, finished time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.threads[key]
	if t == nil {
		if len(n.threads) >= maxThreads {
			for k := range n.threads {
				delete(n.threads, k)
				break
			}
		}
		t = &thread{}
		n.threads[key] = t
	}
	t.lastID, t.lastSent = id, finished
}

func threadKey(b *status.Build) string {
	branch := ""
	if s := b.Source(""); s != nil {
		branch = s.Branch
	}
	return b.Builder + "\x00" + branch
}

func buildSetThreadKey(bs *status.BuildSet, items []item) string {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.b.Builder
	}
	slices.Sort(names)
	branch := ""
	if len(bs.Sources) > 0 {
		branch = bs.Sources[0].Branch
	}
	return "buildset\x00" + strings.Join(names, ",") + "\x00" + branch
}

// compose renders the mail about items (one build, or the selected builds
// of build set bs).
func (n *Notifier) compose(ctx context.Context, items []item, bs *status.BuildSet) (*Message, *recipients, error) {
	first := items[0].b
	var texts, htmls []string
	var override string
	headers := map[string]string{}
	var atts []Attachment
	builds := make([]*status.Build, len(items))
	for i, it := range items {
		builds[i] = it.b
		in := &FormatInput{
			Mode: it.fired, Builder: it.b.Builder, Build: it.b, Result: it.b.Result, Previous: it.prev,
			Title: n.o.Title, BuildURL: n.o.BuildURL(it.b), BuildbotURL: n.o.BuildbotURL,
			LogLines: n.o.LogLines, history: n.o.History,
		}
		c, err := n.o.MessageFormatter(ctx, in)
		if err != nil {
			return nil, nil, fmt.Errorf("mail: formatting %s #%d: %w", it.b.Builder, it.b.Number, err)
		}
		if c == nil || c.Text == "" && c.HTML == "" {
			return nil, nil, errNoBody
		}
		texts, htmls = append(texts, c.Text), append(htmls, c.HTML)
		if override == "" {
			override = c.Subject
		}
		for k, v := range c.Headers {
			if err := checkHeaderName(k); err != nil {
				return nil, nil, fmt.Errorf("mail: MessageFormatter: %w", err)
			}
			headers[k] = v
		}
		a, err := n.attachments(ctx, in)
		if err != nil {
			return nil, nil, err
		}
		atts = append(atts, a...)
	}
	rc, err := n.recipientsFor(ctx, builds)
	if err != nil {
		return nil, nil, err
	}

	m := &Message{From: n.from, To: rc.To, Cc: rc.Cc, Date: n.o.Now(), Attachments: atts}
	m.Text = joinBodies(texts, "\n\n")
	m.HTML = joinBodies(htmls, "\n<hr>\n")

	kw := n.subjectKeywords(items, bs)
	m.Subject = cleanHeader(override)
	if m.Subject == "" {
		m.Subject = cleanHeader(n.o.Subject.Render(first, kw))
	}
	for _, h := range n.o.extraHeaders(ctx, n.headers, first, kw) {
		if _, set := headers[h.Name]; !set {
			headers[h.Name] = h.Value
		}
	}
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		m.Headers = append(m.Headers, Header{Name: k, Value: cleanHeader(headers[k])})
	}

	var key string
	if bs != nil {
		key = buildSetThreadKey(bs, items)
		m.MessageID = messageID(n.domain, "buildset", bs.ID, bs.Submitted.String(), first.Master)
	} else {
		key = threadKey(first)
		m.MessageID = messageID(n.domain, "build", first.Master, first.Builder, strconv.Itoa(first.Number), first.Started.String(), first.BuildSetID)
	}
	root := messageID(n.domain, "thread", key)
	m.References = []string{root}
	m.InReplyTo = root
	n.mu.Lock()
	if t := n.threads[key]; t != nil && t.lastID != "" && t.lastID != m.MessageID {
		m.References = append(m.References, t.lastID)
		m.InReplyTo = t.lastID
	}
	n.mu.Unlock()
	return m, rc, nil
}

func joinBodies(parts []string, sep string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// subjectKeywords are the %(kw:...)s values of Options.Subject.
func (n *Notifier) subjectKeywords(items []item, bs *status.BuildSet) map[string]string {
	first := items[0].b
	kw := map[string]string{"title": n.o.Title, "projectName": n.o.Title, "result": first.Result.String()}
	var fired Mode
	for _, it := range items {
		fired |= it.fired
	}
	if fired != 0 {
		kw["mode"] = fired.String()
	}
	set := func(k, v string) {
		if v != "" {
			kw[k] = v
		}
	}
	if s := first.Source(""); s != nil {
		set("project", s.Project)
		set("branch", s.Branch)
		set("revision", s.Revision)
	}
	if bs == nil {
		kw["builder"] = first.Builder
		kw["number"] = strconv.Itoa(first.Number)
		return kw
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.b.Builder
	}
	kw["builder"] = strings.Join(names, ", ")
	kw["result"] = bs.Result.String()
	set("reason", bs.Reason)
	return kw
}

// extraHeaders renders Options.ExtraHeaders for build b. A name template
// that renders to no valid header name leaves its header out, logged: the
// mail matters more than one header.
func (o *Options) extraHeaders(ctx context.Context, hs []extraHeader, b *status.Build, kw map[string]string) []Header {
	out := make([]Header, 0, len(hs))
	for _, h := range hs {
		name := h.name
		if h.template != nil {
			name = strings.TrimSpace(h.template.Render(b, kw))
			if err := checkHeaderName(name); err != nil {
				o.Logger.WarnContext(ctx, "mail: leaving out an extra header whose name template rendered no valid name",
					"template", h.name, "err", err)
				continue
			}
		}
		out = append(out, Header{Name: name, Value: h.value.Render(b, kw)})
	}
	return out
}
