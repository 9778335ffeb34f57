package mail

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, *update, name, got)
}

var fixedNow = func() time.Time { return time.Date(2026, 1, 2, 15, 10, 0, 0, time.UTC) }

func goldenOptions(h status.History) Options {
	return Options{
		From: "Herald CI <ci@example.org>", Domain: "example.org", ExtraRecipients: []string{"builds@example.org"},
		Mode: All | Fixed | FirstFailure | StillFailing, History: h, Title: "Herald", BuildbotURL: "https://ci.example.org/",
		LogLines: 5, Now: fixedNow, AddLogs: true,
		ExtraHeaders: map[string]status.Renderer{"X-Herald-Builder": status.MustInterpolate("%(prop:buildername)s/%(src::branch)s")},
	}
}

// compose renders the mail about b as the Notifier would, without sending.
func composeFor(t *testing.T, o Options, b *status.Build) *Message {
	t.Helper()
	o.Sender = &recorder{}
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	it, err := n.decide(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := n.compose(context.Background(), []item{it}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// boundaries matches multipart boundaries, random in every encoding.
var boundaries = regexp.MustCompile(`boundary="?([0-9a-zA-Z'()+_,./:=?-]+)"?`)

// normalize replaces the random boundaries of an encoded message.
func normalize(raw []byte) []byte {
	s := string(raw)
	for i, m := range boundaries.FindAllStringSubmatch(s, -1) {
		s = strings.ReplaceAll(s, m[1], fmt.Sprintf("BOUNDARY-%d", i))
	}
	return []byte(s)
}

func TestGoldenDefaultFailure(t *testing.T) {
	h := statustest.NewHistory()
	h.AddBuild(statustest.NewBuild("linux").Number(6).Tags("ci").Succeeded().Build())
	b := failingBuild(h, 7)
	h.AddBuild(b)
	m := composeFor(t, goldenOptions(h), b)
	golden(t, "failure.txt.golden", []byte(m.Text))
	golden(t, "failure.html.golden", []byte(m.HTML))
	raw, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "failure.eml.golden", normalize(raw))
}

func TestGoldenDefaultSuccess(t *testing.T) {
	h := statustest.NewHistory()
	h.AddBuild(statustest.NewBuild("linux").Number(7).Failed().Build())
	b := passingBuild(8)
	h.AddBuild(b)
	o := goldenOptions(h)
	o.AddLogs = false
	m := composeFor(t, o, b)
	golden(t, "fixed.txt.golden", []byte(m.Text))
	golden(t, "fixed.html.golden", []byte(m.HTML))
}

// The short formatter of the spec ("STATUS: Failure"), with a subject of
// its own and a header.
func shortFormatter(_ context.Context, in *FormatInput) (*Content, error) {
	return &Content{
		Subject: fmt.Sprintf("[%s] %s #%d %s", in.Title, in.Builder, in.Build.Number, strings.ToUpper(in.ResultString())),
		Text:    fmt.Sprintf("STATUS: %s\nMODE: %v\nLOGS: %d\nBUILD: %s\n", in.ResultString(), in.Mode, len(in.Logs()), in.BuildURL),
		Headers: map[string]string{"X-Build-Result": in.ResultString()},
	}, nil
}

func TestGoldenCustomFormatter(t *testing.T) {
	h := statustest.NewHistory()
	b := failingBuild(h, 7)
	h.AddBuild(b)
	o := goldenOptions(h)
	o.MessageFormatter = FormatFunc(shortFormatter)
	o.AddLogs = false
	o.SkipPatch = true
	raw, err := Render(context.Background(), b, o)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "custom.eml.golden", normalize(raw))
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Subject"); got != "[Herald] linux #7 FAILURE" {
		t.Errorf("Subject = %q", got)
	}
	if got := msg.Header.Get("X-Build-Result"); got != "failure" {
		t.Errorf("X-Build-Result = %q", got)
	}
}

// TestRenderStructure parses the rendered failure mail as a mail reader
// would: headers, alternatives, attachments.
func TestRenderStructure(t *testing.T) {
	h := statustest.NewHistory()
	h.AddBuild(statustest.NewBuild("linux").Number(6).Succeeded().Build())
	b := failingBuild(h, 7)
	h.AddBuild(b)
	raw, err := Render(context.Background(), b, goldenOptions(h))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	hd := msg.Header
	checks := map[string]string{
		"From":             `"Herald CI" <ci@example.org>`,
		"To":               `"Alice Liddell" <alice@example.org>, <bob@example.org>, <carol@example.org>`,
		"Cc":               `<builds@example.org>`,
		"Subject":          "Herald failure: linux #7 on main",
		"X-Herald-Builder": "linux/main",
	}
	for k, want := range checks {
		if got := hd.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if id := hd.Get("Message-Id"); !strings.HasPrefix(id, "<herald.build.") || !strings.HasSuffix(id, "@example.org>") {
		t.Errorf("Message-Id = %q", id)
	}
	if hd.Get("In-Reply-To") == "" || hd.Get("References") != hd.Get("In-Reply-To") {
		t.Errorf("a first mail replies to the thread root: In-Reply-To %q, References %q", hd.Get("In-Reply-To"), hd.Get("References"))
	}
	mt, params, err := mime.ParseMediaType(hd.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type = %q", hd.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var names []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if fn := p.FileName(); fn != "" {
			names = append(names, fn)
		}
	}
	if got := strings.Join(names, " "); got != "source-patch-0.diff compile.stdio test.stdio" {
		t.Errorf("attachments = %q", got)
	}
}

// TestHeaderInjection: CR/LF in an author name, a subject, a property used
// in a header, or a formatter's header never starts a header of its own.
func TestHeaderInjection(t *testing.T) {
	h := statustest.NewHistory()
	b := statustest.NewBuild("lin\r\nBcc: victim@evil.example").Number(1).
		Change(status.Change{ID: 1, Author: "Mallory\r\nBcc: victim@evil.example <mallory@example.org>", Comments: "x"}).
		Property("evil", "v\r\nX-Injected: yes").Failed().Build()
	o := Options{From: "ci@example.org", Domain: "example.org", Mode: All, History: h, Now: fixedNow,
		ExtraHeaders: map[string]status.Renderer{"X-Evil": status.MustInterpolate("%(prop:evil)s")},
		MessageFormatter: FormatFunc(func(ctx context.Context, in *FormatInput) (*Content, error) {
			return &Content{Subject: "boom\r\nBcc: victim@evil.example", Text: "body", Headers: map[string]string{"X-Other": "a\nX-Injected: yes"}}, nil
		})}
	raw, err := Render(context.Background(), b, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if strings.HasPrefix(line, "Bcc:") || strings.HasPrefix(line, "X-Injected:") {
			t.Errorf("injected header line %q in:\n%s", line, raw)
		}
	}
	if strings.Contains(strings.ReplaceAll(string(raw), "\r\n", ""), "\n") {
		t.Errorf("bare LF in the message:\n%s", raw)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Subject"); got != "boom Bcc: victim@evil.example" {
		t.Errorf("Subject = %q", got)
	}
	if msg.Header.Get("To") != "" {
		t.Errorf("an author name with CR/LF must not become a recipient: To = %q", msg.Header.Get("To"))
	}
	// The default subject template with a builder name holding CR/LF.
	o.MessageFormatter = nil
	raw, err = Render(context.Background(), b, o)
	if err != nil {
		t.Fatal(err)
	}
	msg, err = mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Subject"); strings.ContainsAny(got, "\r\n") || !strings.Contains(got, "lin Bcc: victim@evil.example") {
		t.Errorf("Subject = %q", got)
	}
	if len(msg.Header["Bcc"]) != 0 {
		t.Errorf("Bcc header present")
	}
}

// TestLargeLogCapped: a 10 MiB log is attached cut at the cap, with a note.
func TestLargeLogCapped(t *testing.T) {
	h := statustest.NewHistory()
	b := statustest.NewBuild("linux").Number(3).URL("https://ci.example.org/builders/linux/builds/3").Step("test", status.Failure).Failed().Build()
	b.Steps[0].Logs[0].Size = 10 << 20
	line := strings.Repeat("x", 99) + "\n"
	h.SetLog(b.Steps[0].Logs[0], strings.Repeat(line, (10<<20)/len(line)))
	o := Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"}, History: h, AddLogs: true, MaxAttachmentSize: 64 << 10}
	m := composeFor(t, o, b)
	if len(m.Attachments) != 1 {
		t.Fatalf("%d attachments", len(m.Attachments))
	}
	a := m.Attachments[0]
	note := "[Herald: log cut at 65536 bytes of 10485760; full log: https://ci.example.org/builders/linux/builds/3/steps/test/logs/stdio]\n"
	if len(a.Data) > 64<<10+len(note)+2 || !strings.HasSuffix(string(a.Data), note) {
		t.Errorf("attachment of %d bytes ending %q", len(a.Data), a.Data[max(0, len(a.Data)-120):])
	}
	if a.Name != "test.stdio" || !strings.HasPrefix(a.ContentType, "text/plain") {
		t.Errorf("attachment %q %q", a.Name, a.ContentType)
	}
	// The body quotes the tail of the same log, read in bounded memory.
	if !strings.Contains(m.Text, "Last 25 lines of test.stdio") {
		t.Errorf("body does not quote the log tail:\n%s", m.Text)
	}
}

func TestLogNames(t *testing.T) {
	h := statustest.NewHistory()
	b := failingBuild(h, 7)
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"test.stdio"}, "test.stdio"},
		{[]string{"stdio"}, "compile.stdio test.stdio"},
		{[]string{"nothing"}, ""},
	} {
		o := Options{From: "ci@example.org", History: h, LogNames: tc.names, SkipPatch: true}
		m := composeFor(t, o, b)
		var got []string
		for _, a := range m.Attachments {
			got = append(got, a.Name)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("LogNames %q: attachments %q, want %q", tc.names, got, tc.want)
		}
	}
}

func TestTailLines(t *testing.T) {
	text := "a\nb\nc\nd\n"
	for _, tc := range []struct {
		n, window int
		want      string
	}{
		{2, 1 << 10, "c d"},
		{10, 1 << 10, "a b c d"},
		{10, 5, "c d"}, // the window cuts "b" in half: it is dropped
		{0, 1 << 10, ""},
	} {
		got, err := tailLines(strings.NewReader(text), tc.n, tc.window)
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("tailLines(n=%d, window=%d) = %q, %v; want %q", tc.n, tc.window, got, err, tc.want)
		}
	}
}

// TestHTMLEscaping: change comments, authors and links from the VCS are
// escaped in the HTML body; only http(s) links become anchors.
func TestHTMLEscaping(t *testing.T) {
	b := statustest.NewBuild("b<i>").Change(status.Change{ID: 1, Author: `Eve "<script>"`, Comments: "<script>alert(1)</script> & co",
		RevLink: "javascript:alert(1)", Files: []string{"<b>.go"}}).Failed().Build()
	b.URL = `https://ci.example.org/b?x="><script>`
	m := composeFor(t, Options{From: "ci@example.org"}, b)
	for _, bad := range []string{"<script>", "javascript:", "<i>", "<b>.go", `x="`} {
		if strings.Contains(m.HTML, bad) {
			t.Errorf("HTML body contains %q:\n%s", bad, m.HTML)
		}
	}
	if !strings.Contains(m.HTML, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co") {
		t.Errorf("comment not escaped as expected:\n%s", m.HTML)
	}
}
