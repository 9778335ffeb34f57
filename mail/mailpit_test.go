package mail

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// These tests send through mailpit, a real SMTP server, and read what it
// stored through its HTTP API.

func mailpitOptions(mp *mailpit, h status.History) Options {
	if h == nil {
		h = statustest.NewHistory()
	}
	return Options{
		From: "Herald CI <ci@example.org>", Domain: "example.org", ExtraRecipients: []string{"builds@example.org"},
		RelayHost: mp.SMTPHost, Port: mp.SMTPPort, History: h, AddLogs: true, Mode: All,
		BuildbotURL: "https://ci.example.org/", Timeout: 10 * time.Second, Logger: newLogger(&testkit.Buffer{}),
		ExtraHeaders: map[string]status.Renderer{"X-Herald-Builder": status.MustInterpolate("%(prop:buildername)s")},
	}
}

func TestMailpitPlain(t *testing.T) {
	mp := startMailpit(t)
	h := statustest.NewHistory()
	h.AddBuild(statustest.NewBuild("linux").Number(6).Succeeded().Build())
	b := failingBuild(h, 7)
	h.AddBuild(b)
	n, err := New(mailpitOptions(mp, h))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Report(context.Background(), finished(b)); err != nil {
		t.Fatal(err)
	}
	m := mp.messages(t, 1)[0]
	if m.Subject != "Herald failure: linux #7 on main" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if m.From.Address != "ci@example.org" || m.From.Name != "Herald CI" {
		t.Errorf("From = %+v", m.From)
	}
	var to []string
	for _, a := range m.To {
		to = append(to, a.Address)
	}
	if strings.Join(to, " ") != "alice@example.org bob@example.org carol@example.org" {
		t.Errorf("To = %v", to)
	}
	if len(m.Cc) != 1 || m.Cc[0].Address != "builds@example.org" {
		t.Errorf("Cc = %v", m.Cc)
	}
	if !strings.Contains(m.Text, "Herald has detected a new failure on builder linux") || !strings.Contains(m.Text, "--- FAIL: TestFrob") {
		t.Errorf("Text body:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, `<b style="color: #c00">test: failure</b>`) {
		t.Errorf("HTML body:\n%s", m.HTML)
	}
	var names []string
	for _, a := range m.Attachments {
		names = append(names, a.FileName)
	}
	if strings.Join(names, " ") != "source-patch-0.diff compile.stdio test.stdio" {
		t.Errorf("attachments %v", names)
	}
	for _, a := range m.Attachments {
		if a.FileName == "test.stdio" {
			body := string(mp.get(t, "/message/"+m.ID+"/part/"+a.PartID))
			if !strings.HasPrefix(body, "test line 1\n") || !strings.HasSuffix(body, "FAIL\n") {
				t.Errorf("test.stdio attachment: %q", body)
			}
		}
	}
	var headers map[string][]string
	mp.getJSON(t, "/message/"+m.ID+"/headers", &headers)
	if got := headers["X-Herald-Builder"]; len(got) != 1 || got[0] != "linux" {
		t.Errorf("X-Herald-Builder = %v", got)
	}
	if got := headers["In-Reply-To"]; len(got) != 1 || !strings.HasPrefix(got[0], "<herald.thread.") {
		t.Errorf("In-Reply-To = %v", got)
	}
	if len(headers["Bcc"]) != 0 {
		t.Errorf("Bcc = %v", headers["Bcc"])
	}
}

// TestMailpitSTARTTLS: required STARTTLS with a self-signed certificate the
// test trusts, then AUTH PLAIN or LOGIN.
func TestMailpitSTARTTLS(t *testing.T) {
	cert, key, tlsCfg := selfSigned(t)
	mp := startMailpit(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-starttls", "--smtp-auth-accept-any")
	for i, mech := range []string{"PLAIN", "LOGIN", ""} {
		o := mailpitOptions(mp, nil)
		o.UseTLS, o.TLSConfig, o.Username, o.Password, o.AuthMechanism = true, tlsCfg, "ci", status.Secret("s3cret-"+mech), mech
		n, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		b := statustest.NewBuild("tls-" + mech).Number(i + 1).Failed().Build()
		if err := n.Report(context.Background(), finished(b)); err != nil {
			t.Fatalf("AUTH %q over STARTTLS: %v", mech, err)
		}
	}
	msgs := mp.messages(t, 3)
	for i, mech := range []string{"PLAIN", "LOGIN", ""} {
		if !strings.Contains(msgs[i].Subject, "tls-"+mech) {
			t.Errorf("message %d subject %q", i, msgs[i].Subject)
		}
	}

	// Without TLS the server refuses the mail: 530, permanent.
	o := mailpitOptions(mp, nil)
	o.Username, o.Password = "ci", "pw"
	n, _ := New(o)
	err := n.Report(context.Background(), finished(statustest.NewBuild("plain").Failed().Build()))
	if err == nil || status.IsRetryable(err) || !strings.Contains(err.Error(), "530") {
		t.Errorf("no STARTTLS against a server requiring it: %v", err)
	}

	// An untrusted certificate fails permanently, saying what to check.
	o = mailpitOptions(mp, nil)
	o.UseTLS = true
	n, _ = New(o)
	err = n.Report(context.Background(), finished(statustest.NewBuild("untrusted").Failed().Build()))
	if err == nil || status.IsRetryable(err) || !strings.Contains(err.Error(), "Options.TLSConfig") {
		t.Errorf("untrusted certificate: %v", err)
	}
}

// TestMailpitAuthFile: a real password check; a wrong password is a
// permanent 535 and the password appears in no error and no log line.
func TestMailpitAuthFile(t *testing.T) {
	const password = "correct-horse-battery"
	const wrong = "wrong-horse-staple"
	file := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(file, []byte("ci:"+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mp := startMailpit(t, "--smtp-auth-file", file, "--smtp-auth-allow-insecure")
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		logs := &testkit.Buffer{}
		o := mailpitOptions(mp, nil)
		o.Username, o.Password, o.AuthMechanism, o.Logger = "ci", password, mech, newLogger(logs)
		n, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Report(context.Background(), finished(statustest.NewBuild("auth-"+mech).Failed().Build())); err != nil {
			t.Fatalf("AUTH %s: %v", mech, err)
		}

		o.Password = wrong
		n, _ = New(o)
		hubLogs := &testkit.Buffer{}
		hub := hubWith(n, hubLogs)
		hub.Publish(finished(statustest.NewBuild("auth-wrong").Failed().Build()))
		st := shutdown(t, hub)
		if st.Failed != 1 || !strings.Contains(st.LastError, "535") {
			t.Errorf("AUTH %s with a wrong password: stats %+v, want one permanent 535", mech, st)
		}
		all := logs.String() + hubLogs.String() + st.LastError + n.String() + n.sender.(*smtpSender).String()
		for _, secret := range []string{password, wrong} {
			if strings.Contains(all, secret) {
				t.Errorf("the password %q leaked:\n%s", secret, all)
			}
		}
		if !strings.Contains(n.String(), "<redacted>") {
			t.Errorf("String() = %q", n.String())
		}
	}
	mp.messages(t, 2)

	// No login against a server that wants one: 530, permanent.
	n, _ := New(mailpitOptions(mp, nil))
	err := n.Report(context.Background(), finished(statustest.NewBuild("anon").Failed().Build()))
	if err == nil || status.IsRetryable(err) {
		t.Errorf("no login: %v", err)
	}
}

// TestMailpitImplicitTLS: TLS from the first byte (port 465 style); and a
// login against a server that offers no AUTH fails clearly.
func TestMailpitImplicitTLS(t *testing.T) {
	cert, key, tlsCfg := selfSigned(t)
	mp := startMailpit(t, "--smtp-tls-cert", cert, "--smtp-tls-key", key, "--smtp-require-tls")
	o := mailpitOptions(mp, nil)
	o.ImplicitTLS, o.TLSConfig = true, tlsCfg
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Report(context.Background(), finished(statustest.NewBuild("tls465").Failed().Build())); err != nil {
		t.Fatal(err)
	}
	if m := mp.messages(t, 1)[0]; !strings.Contains(m.Subject, "tls465") {
		t.Errorf("subject %q", m.Subject)
	}
	o.Username, o.Password = "ci", "pw"
	n, _ = New(o)
	err = n.Report(context.Background(), finished(statustest.NewBuild("noauth").Failed().Build()))
	if err == nil || status.IsRetryable(err) || !strings.Contains(err.Error(), "offers no AUTH") {
		t.Errorf("login against a server without AUTH: %v", err)
	}
}
