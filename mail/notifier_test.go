package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestNewValidation(t *testing.T) {
	ok := Options{From: "ci@example.org"}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no From", func(o *Options) { o.From = "" }, "Options.From is empty: set the sender address"},
		{"bad From", func(o *Options) { o.From = "not an address" }, "Options.From"},
		{"From with CRLF", func(o *Options) { o.From = "a@b.org\r\nBcc: x@y.org" }, "line break"},
		{"bad extra", func(o *Options) { o.ExtraRecipients = []string{"listaddr"} }, "full address"},
		{"bad recipient domain", func(o *Options) { o.RecipientDomains = []string{"x.org", "a@b.org"} }, "RecipientDomains"},
		{"bad header name template", func(o *Options) {
			o.ExtraHeaders = map[string]status.Renderer{"X-%(nope)s": status.MustInterpolate("x")}
		}, "unknown key %(nope)s"},
		{"unknown mode bits", func(o *Options) { o.Mode = 1 << 14 }, "unknown bits"},
		{"change without history", func(o *Options) { o.Mode = Change }, "set Options.History or Options.PreviousBuild"},
		{"both TLS", func(o *Options) { o.UseTLS, o.ImplicitTLS = true, true }, "choose one"},
		{"password alone", func(o *Options) { o.Password = "x" }, "without Options.Username"},
		{"user alone", func(o *Options) { o.Username = "x" }, "without Options.Password"},
		{"clear password", func(o *Options) { o.RelayHost, o.Username, o.Password = "smtp.example.org", "u", "p" }, "in clear"},
		{"bad mechanism", func(o *Options) { o.AuthMechanism = "XOAUTH9" }, "AuthMechanism"},
		{"bad port", func(o *Options) { o.Port = 70000 }, "out of range"},
		{"reserved header", func(o *Options) {
			o.ExtraHeaders = map[string]status.Renderer{"bcc": status.MustInterpolate("x")}
		}, "set by Herald"},
		{"bad header name", func(o *Options) {
			o.ExtraHeaders = map[string]status.Renderer{"X Bad": status.MustInterpolate("x")}
		}, "header name"},
		{"domain with @", func(o *Options) { o.Domain = "@example.org" }, "bare domain"},
		{"negative cap", func(o *Options) { o.MaxAttachmentSize = -1 }, "MaxAttachmentSize"},
	} {
		o := ok
		tc.edit(&o)
		_, err := New(o)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "mail: ") {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// Several problems are reported together.
	_, err := New(Options{Domain: "a@b", Port: -1})
	if err == nil || !strings.Contains(err.Error(), "From") || !strings.Contains(err.Error(), "Options.Domain") || !strings.Contains(err.Error(), "Options.Port") {
		t.Errorf("err = %v, want both problems", err)
	}
	n, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	s := n.sender.(*smtpSender)
	if s.addr != "localhost:25" || n.o.Mode != DefaultMode {
		t.Errorf("defaults: addr %q mode %v", s.addr, n.o.Mode)
	}
	n, _ = New(Options{From: "ci@example.org", ImplicitTLS: true})
	if a := n.sender.(*smtpSender).addr; a != "localhost:465" {
		t.Errorf("implicit TLS default port: %q", a)
	}
}

// TestSecretNotPrinted: the password is in no form of the options or the
// notifier that fmt or slog produce.
func TestSecretNotPrinted(t *testing.T) {
	const pw = "hunter2-very-secret"
	o := Options{From: "ci@example.org", RelayHost: "smtp.example.org", UseTLS: true, Username: "ci", Password: pw}
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Buffer{}
	newLogger(logs).Info("options", "opts", o, "notifier", n)
	for _, s := range []string{fmt.Sprint(o), fmt.Sprintf("%+v", o), fmt.Sprintf("%#v", o), n.String(), fmt.Sprint(n), logs.String()} {
		if strings.Contains(s, pw) {
			t.Errorf("password printed: %s", s)
		}
	}
}

func TestRecipients(t *testing.T) {
	h := statustest.NewHistory()
	h.AddUser(status.User{Name: "dave", FullName: "Dave D", Email: "dave@corp.example"})
	h.AddUser(status.User{Name: "erin", Attributes: map[string]string{"git": "Erin <erin@old.example>"}, Email: "erin@corp.example"})
	b := statustest.NewBuild("b").Blame("Alice <alice@example.org>", "bob", "dave", "Alice <ALICE@example.org>", "nobody").
		Property("owners", []string{"carol@example.org", "bob"}).Failed().Build()
	for _, tc := range []struct {
		name   string
		o      Options
		to, cc string
	}{
		{"domain lookup", Options{Domain: "example.org", ExtraRecipients: []string{"list@example.org", "bob@example.org"}},
			"alice@example.org bob@example.org dave@example.org nobody@example.org carol@example.org", "list@example.org"},
		{"no lookup: addresses, then History users", Options{History: h},
			"alice@example.org dave@corp.example carol@example.org", ""},
		{"only extra recipients", Options{SkipInterestedUsers: true, Domain: "example.org", ExtraRecipients: []string{"list@example.org"}},
			"list@example.org", ""},
		{"no interested user found: extras in To", Options{ExtraRecipients: []string{"list@example.org"}},
			"alice@example.org carol@example.org", "list@example.org"},
		{"lookup func dropping users", Options{RecipientDomains: []string{"example.org", "x.org"}, Lookup: func(_ context.Context, u string) (string, error) {
			if u == "bob" {
				return "", nil
			}
			return domainAddress(u, "x.org"), nil
		}}, "alice@example.org dave@x.org nobody@x.org carol@example.org", ""},
	} {
		tc.o.From = "ci@example.org"
		rec := &recorder{}
		tc.o.Sender = rec
		n, err := New(tc.o)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Report(context.Background(), finished(b)); err != nil {
			t.Fatal(err)
		}
		sent := rec.all()
		if len(sent) != 1 {
			t.Fatalf("%s: %d mails", tc.name, len(sent))
		}
		m := sent[0].Message
		if got := addrs(m.To); got != tc.to {
			t.Errorf("%s: To = %q, want %q", tc.name, got, tc.to)
		}
		if got := addrs(m.Cc); got != tc.cc {
			t.Errorf("%s: Cc = %q, want %q", tc.name, got, tc.cc)
		}
		if strings.Join(sent[0].To, " ") != strings.TrimSpace(tc.to+" "+tc.cc) {
			t.Errorf("%s: envelope %q", tc.name, sent[0].To)
		}
	}
	// Erin is found through an attribute of her History user.
	rec := &recorder{}
	n, _ := New(Options{From: "ci@example.org", History: h, Sender: rec})
	_ = n.Report(context.Background(), finished(statustest.NewBuild("b").Blame("Erin").Property("owners", "erin").Failed().Build()))
	if got := addrs(rec.all()[0].Message.To); got != "erin@corp.example" {
		t.Errorf("attribute lookup: To = %q", got)
	}
	// Without any recipient nothing is sent, and that is not an error.
	rec = &recorder{}
	n, _ = New(Options{From: "ci@example.org", Sender: rec})
	if err := n.Report(context.Background(), finished(statustest.NewBuild("b").Blame("x").Failed().Build())); err != nil || len(rec.all()) != 0 {
		t.Errorf("no recipients: err %v, %d mails", err, len(rec.all()))
	}
	// A failing lookup fails the mail, keeping its class.
	n, _ = New(Options{From: "ci@example.org", Sender: &recorder{}, Lookup: LookupFunc(func(context.Context, string) (string, error) {
		return "", status.Retryable(errors.New("directory down"), 0)
	})})
	if err := n.Report(context.Background(), finished(statustest.NewBuild("b").Blame("x").Failed().Build())); !status.IsRetryable(err) {
		t.Errorf("lookup failure: %v", err)
	}
}

func addrs(as []*mail.Address) string {
	var s []string
	for _, a := range as {
		s = append(s, a.Address)
	}
	return strings.Join(s, " ")
}

// Builders and tags are chosen as for every target, with status.Filter.
func TestBuildersAndTagsThroughFilter(t *testing.T) {
	for _, tc := range []struct {
		m    status.Match
		want string
	}{
		{status.Builders("linux", "mac"), "linux mac"},
		{status.Tags("release"), "win"},
		{func(status.Event) bool { return true }, "linux mac win"},
	} {
		rec := &recorder{}
		n, err := New(Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"}, Sender: rec})
		require.NoError(t, err)
		r := status.Filter(n, tc.m)
		for _, b := range []*status.Build{
			statustest.NewBuild("linux").Tags("ci").Failed().Build(),
			statustest.NewBuild("mac").Failed().Build(),
			statustest.NewBuild("win").Tags("ci", "release").Failed().Build(),
		} {
			for _, e := range statustest.NewBuild(b.Builder).Tags(b.Tags...).Failed().Events() {
				require.NoError(t, r.Report(context.Background(), e))
			}
		}
		var got []string
		for _, env := range rec.all() {
			got = append(got, strings.Fields(env.Message.Subject)[2])
		}
		assert.Equal(t, tc.want, strings.Join(got, " "))
	}
}

// TestBuildSetSummary: one mail for the selected builds of a build set,
// none per build.
func TestBuildSetSummary(t *testing.T) {
	rec := &recorder{}
	n, err := New(Options{From: "ci@example.org", Domain: "example.org", ExtraRecipients: []string{"l@example.org"},
		BuildSetSummary: true, Mode: Failing, Sender: rec, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	linux := statustest.NewBuild("linux").Blame("alice").BuildSet("9").Failed().Build()
	mac := statustest.NewBuild("mac").Blame("bob").BuildSet("9").Succeeded().Build()
	win := statustest.NewBuild("win").Blame("carol").BuildSet("9").Failed().Build()
	ctx := context.Background()
	for _, b := range []*status.Build{linux, mac, win} {
		if err := n.Report(ctx, finished(b)); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.all()) != 0 {
		t.Fatalf("per-build mails with BuildSetSummary: %d", len(rec.all()))
	}
	bs := &status.BuildSet{ID: "9", Reason: "push", Builders: []string{"linux", "mac", "win"}, Result: status.Failure,
		Sources: linux.Sources, Builds: []*status.Build{linux, mac, win}, Submitted: statustest.Epoch, Finished: linux.Finished}
	if err := n.Report(ctx, status.Event{Kind: status.BuildSetFinished, BuildSet: bs}); err != nil {
		t.Fatal(err)
	}
	sent := rec.all()
	if len(sent) != 1 {
		t.Fatalf("%d summary mails", len(sent))
	}
	m := sent[0].Message
	if m.Subject != "Herald failure: linux, win on main" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if addrs(m.To) != "alice@example.org carol@example.org" {
		t.Errorf("To = %q (mac passed: bob is not mailed)", addrs(m.To))
	}
	if strings.Count(m.Text, "has detected a failed build") != 2 || !strings.Contains(m.Text, "builder win") || strings.Contains(m.Text, "builder mac") {
		t.Errorf("summary body:\n%s", m.Text)
	}
	if !strings.HasPrefix(m.MessageID, "herald.buildset.") {
		t.Errorf("Message-ID %q", m.MessageID)
	}
	// Nothing selected: no mail.
	bs.Builds = []*status.Build{mac}
	if err := n.Report(ctx, status.Event{Kind: status.BuildSetFinished, BuildSet: bs}); err != nil || len(rec.all()) != 1 {
		t.Errorf("summary of passing builds: err %v, %d mails", err, len(rec.all()))
	}
}

// TestFormatterErrors: a formatter's error fails the mail; an empty body or
// a reserved header is refused.
func TestFormatterErrors(t *testing.T) {
	b := statustest.NewBuild("b").Failed().Build()
	for _, tc := range []struct {
		f    FormatFunc
		want string
	}{
		{func(context.Context, *FormatInput) (*Content, error) { return nil, errors.New("boom") }, "boom"},
		{func(context.Context, *FormatInput) (*Content, error) { return &Content{Subject: "s"}, nil }, "no Text and no HTML"},
		{func(context.Context, *FormatInput) (*Content, error) {
			return &Content{Text: "x", Headers: map[string]string{"To": "evil@example.org"}}, nil
		}, "set by Herald"},
	} {
		n, _ := New(Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"}, Sender: &recorder{}, MessageFormatter: tc.f})
		if err := n.Report(context.Background(), finished(b)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	// HTML only.
	raw, err := Render(context.Background(), b, Options{From: "ci@example.org", MessageFormatter: FormatFunc(
		func(context.Context, *FormatInput) (*Content, error) { return &Content{HTML: "<p>hi</p>"}, nil })})
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := mail.ReadMessage(bytes.NewReader(raw))
	if ct := msg.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestIgnoresOtherEventsAndClose(t *testing.T) {
	rec := &recorder{}
	n, _ := New(Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"}, Sender: rec})
	running := statustest.NewBuild("b").Build()
	for _, e := range statustest.EveryKind(running) {
		if err := n.Report(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.all()) != 0 {
		t.Errorf("mails about a running build: %d", len(rec.all()))
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := n.Report(context.Background(), finished(statustest.NewBuild("b").Failed().Build())); !errors.Is(err, errClosed) {
		t.Errorf("Report after Close: %v", err)
	}
}

func TestConformance(t *testing.T) {
	f := newFakeSMTP(t)
	statustest.Conformance(t, func() status.Reporter {
		o := smtpOptions(f)
		o.History = statustest.NewHistory()
		o.Mode = All
		n, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		return n
	})
	if len(f.Deliveries()) == 0 {
		t.Error("conformance sent no mail: the finished build should have been mailed")
	}
}

// Given no logger, the notifier logs through the Hub's, named.
func TestLogsThroughTheHub(t *testing.T) {
	n, err := New(Options{From: "ci@example.org", Mode: Failing,
		Sender: SenderFunc(func(context.Context, *Envelope) error { return nil })})
	require.NoError(t, err)
	b := statustest.NewBuild("linux").Number(1).Failed().Build()
	lines := testkit.HubLog(t, n, status.Event{Kind: status.BuildFinished, Build: b})
	assert.Contains(t, lines, testkit.LogLine{Level: "DEBUG", Reporter: "mail", Msg: "mail: no recipients, nothing sent"})
}
