package mail

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"

	smtpd "github.com/emersion/go-smtp"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// ---- an in-process SMTP server (emersion/go-smtp) whose faults the test scripts

// fault scripts one SMTP session: at names the command that fails ("mail",
// "rcpt", "data") with code, or "drop" to cut the connection in the middle
// of DATA. The zero fault lets the session succeed.
type fault struct {
	at   string
	code int
	rcpt string // for "rcpt": only this recipient (empty: all)
}

type delivery struct {
	From string
	To   []string
	Data []byte
}

type fakeSMTP struct {
	Addr string
	srv  *smtpd.Server

	mu        sync.Mutex
	faults    []fault
	delivered []delivery
	sessions  int
	changed   chan struct{}
}

func newFakeSMTP(t testing.TB, faults ...fault) *fakeSMTP {
	t.Helper()
	f := &fakeSMTP{faults: faults, changed: make(chan struct{})}
	f.srv = smtpd.NewServer(smtpd.BackendFunc(func(c *smtpd.Conn) (smtpd.Session, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.sessions++
		var ft fault
		if len(f.faults) > 0 {
			ft, f.faults = f.faults[0], f.faults[1:]
		}
		return &fakeSession{f: f, c: c, fault: ft}, nil
	}))
	f.srv.Domain = "fake.test"
	f.srv.AllowInsecureAuth = true
	f.srv.MaxMessageBytes = 64 << 20
	f.srv.ErrorLog = log0{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.Addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = f.srv.Serve(l) }()
	// Close the listener too: Server.Close only closes listeners that
	// Serve has registered, and Serve may not have started yet.
	t.Cleanup(func() { f.srv.Close(); l.Close(); <-done })
	return f
}

type log0 struct{}

func (log0) Printf(string, ...any) {}
func (log0) Println(...any)        {}

func (f *fakeSMTP) hostPort() (string, int) {
	h, p, _ := net.SplitHostPort(f.Addr)
	n, _ := strconv.Atoi(p)
	return h, n
}

// wait returns the deliveries once there are n, or fails the test.
func (f *fakeSMTP) wait(t testing.TB, n int) []delivery {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		f.mu.Lock()
		if len(f.delivered) >= n {
			d := append([]delivery(nil), f.delivered...)
			f.mu.Unlock()
			return d
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("fake SMTP: %d of %d mails delivered after 10s", len(f.Deliveries()), n)
		}
	}
}

func (f *fakeSMTP) Deliveries() []delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]delivery(nil), f.delivered...)
}

func (f *fakeSMTP) Sessions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessions
}

type fakeSession struct {
	f     *fakeSMTP
	c     *smtpd.Conn
	fault fault
	from  string
	to    []string
}

func smtpErr(code int) error {
	return &smtpd.SMTPError{Code: code, EnhancedCode: smtpd.EnhancedCode{code / 100, 0, 0}, Message: "scripted fault " + strconv.Itoa(code)}
}

func (s *fakeSession) Reset()        { s.from, s.to = "", nil }
func (s *fakeSession) Logout() error { return nil }
func (s *fakeSession) Mail(from string, _ *smtpd.MailOptions) error {
	if s.fault.at == "mail" {
		return smtpErr(s.fault.code)
	}
	s.from = from
	return nil
}
func (s *fakeSession) Rcpt(to string, _ *smtpd.RcptOptions) error {
	if s.fault.at == "rcpt" && (s.fault.rcpt == "" || s.fault.rcpt == to) {
		return smtpErr(s.fault.code)
	}
	s.to = append(s.to, to)
	return nil
}
func (s *fakeSession) Data(r io.Reader) error {
	switch s.fault.at {
	case "drop":
		buf := make([]byte, 64)
		_, _ = io.ReadFull(r, buf)
		s.c.Conn().Close()
		return io.ErrUnexpectedEOF
	case "data":
		_, _ = io.Copy(io.Discard, r)
		return smtpErr(s.fault.code)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.mu.Lock()
	s.f.delivered = append(s.f.delivered, delivery{From: s.from, To: s.to, Data: b})
	close(s.f.changed)
	s.f.changed = make(chan struct{})
	s.f.mu.Unlock()
	return nil
}

// ---- mailpit, the real SMTP server with an HTTP API

type mailpit struct {
	SMTPHost string
	SMTPPort int
	API      string
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startMailpit runs mailpit on loopback ports with extra flags and stops it
// (waiting for it to exit) when the test ends. Mailpit cannot be told to
// pick its own ports, so the ports are found free first; when another
// process takes one in between, mailpit exits saying so, and it is started
// again on new ports.
func startMailpit(t *testing.T, extra ...string) *mailpit {
	t.Helper()
	bin := testkit.NeedBinary(t, "mailpit", "go install github.com/axllent/mailpit@v1.27.11")
	for attempt := 1; ; attempt++ {
		mp, logs, err := tryMailpit(t, bin, extra)
		if err == nil {
			return mp
		}
		if !strings.Contains(logs, "address already in use") || attempt == 3 {
			t.Fatalf("mailpit: %v:\n%s", err, logs)
		}
		t.Logf("mailpit lost a port to another process; starting it again: %v", err)
	}
}

// tryMailpit starts mailpit once; on failure it returns mailpit's output.
func tryMailpit(t *testing.T, bin string, extra []string) (*mailpit, string, error) {
	t.Helper()
	sp, hp := freePort(t), freePort(t)
	args := append([]string{
		"--smtp", fmt.Sprintf("127.0.0.1:%d", sp), "--listen", fmt.Sprintf("127.0.0.1:%d", hp),
		"--disable-version-check", "--smtp-disable-rdns", "--database", filepath.Join(t.TempDir(), "mailpit.db"),
	}, extra...)
	cmd := exec.Command(bin, args...)
	out, w := io.Pipe() // Wait returns once all output is copied to w
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan error, 1)
	var logMu sync.Mutex
	var logText strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		smtpUp, httpUp := false, false
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			logText.WriteString(line + "\n")
			logMu.Unlock()
			smtpUp = smtpUp || strings.Contains(line, "[smtpd] starting on")
			httpUp = httpUp || strings.Contains(line, "[http] accessible via")
			if smtpUp && httpUp {
				ready <- nil
				smtpUp = false
			}
		}
		ready <- io.EOF
	}()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); w.Close(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	logs := func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return logText.String()
	}
	select {
	case err := <-ready:
		if err != nil {
			<-exited
			return nil, logs(), errors.New("exited before it was ready")
		}
	case <-time.After(20 * time.Second):
		return nil, logs(), errors.New("not ready after 20s")
	}
	// Mailpit logs "starting" before it listens, and exits when the port
	// is taken: wait for its own SMTP greeting on the port (another
	// process holding it would greet otherwise, or not at all).
	deadline := time.Now().Add(10 * time.Second)
	for {
		greeting, err := smtpGreeting(sp, slices.Contains(extra, "--smtp-require-tls"))
		if err == nil && strings.Contains(greeting, "Mailpit") {
			break
		}
		select {
		case <-exited:
			return nil, logs(), errors.New("exited after it said it was starting")
		default:
		}
		if time.Now().After(deadline) {
			return nil, logs(), fmt.Errorf("no Mailpit greeting on SMTP port %d after 10s: %q, %v", sp, greeting, err)
		}
		time.Sleep(10 * time.Millisecond) // polling another process's port
	}
	return &mailpit{SMTPHost: "127.0.0.1", SMTPPort: sp, API: fmt.Sprintf("http://127.0.0.1:%d/api/v1", hp)}, "", nil
}

// smtpGreeting reads the first line an SMTP server on port sends, over
// TLS from the first byte when implicitTLS is set (mailpit's test
// certificate is not checked: the greeting is what tells mailpit apart).
func smtpGreeting(port int, implicitTLS bool) (string, error) {
	var c net.Conn
	var err error
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if implicitTLS {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.DialTimeout("tcp", addr, time.Second)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	return bufio.NewReader(c).ReadString('\n')
}

// apiClient bounds every call to mailpit's API.
var apiClient = &http.Client{Timeout: 10 * time.Second}

type mpAddr struct{ Name, Address string }

type mpSummary struct {
	ID      string
	Subject string
}

type mpMessage struct {
	ID          string
	MessageID   string
	From        mpAddr
	To, Cc, Bcc []mpAddr
	Subject     string
	Text, HTML  string
	Attachments []struct {
		PartID, FileName, ContentType string
		Size                          int
	}
}

func (m *mailpit) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := apiClient.Get(m.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func (m *mailpit) get(t testing.TB, path string) []byte {
	t.Helper()
	resp, err := apiClient.Get(m.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// messages waits until mailpit holds n messages and returns them, oldest
// first, in full. Mailpit stores a mail when it accepts it; polling its API
// is the only way to observe that from outside.
func (m *mailpit) messages(t testing.TB, n int) []mpMessage {
	t.Helper()
	var list struct {
		Total    int
		Messages []mpSummary
	}
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		m.getJSON(t, "/messages", &list)
		if list.Total >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit holds %d of %d messages after 10s", list.Total, n)
		}
		<-tick.C
	}
	out := make([]mpMessage, len(list.Messages))
	for i, s := range list.Messages {
		m.getJSON(t, "/message/"+s.ID, &out[len(out)-1-i])
	}
	return out
}

// selfSigned writes a certificate for 127.0.0.1 and localhost and returns
// the files and a client config that trusts it.
func selfSigned(t testing.TB) (certFile, keyFile string, cfg *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "herald test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, &tls.Config{RootCAs: pool}
}

// ---- recording senders and loggers

// recorder is a Sender that keeps what it is given.
type recorder struct {
	mu   sync.Mutex
	sent []*Envelope
	err  func(n int) error
}

func (r *recorder) Send(ctx context.Context, env *Envelope) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		if err := r.err(len(r.sent)); err != nil {
			return err
		}
	}
	r.sent = append(r.sent, env)
	return nil
}

func (r *recorder) all() []*Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Envelope(nil), r.sent...)
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// ---- builds

// failingBuild is a rich failed build: two changes, a patch, a failing step
// with a log in h.
func failingBuild(h *statustest.History, number int) *status.Build {
	b := statustest.NewBuild("linux").Number(number).Tags("ci").URL("https://ci.example.org/builders/linux/builds/"+strconv.Itoa(number)).
		Change(status.Change{ID: 41, Author: "Alice Liddell <alice@example.org>", Revision: "1111111111111111111111111111111111111111",
			Comments: "Fix the frobnicator\n\nIt was broken.", Files: []string{"frob.go", "frob_test.go"}, When: statustest.Epoch,
			RevLink: "https://example.org/repo/commit/1111111"}).
		Change(status.Change{ID: 42, Author: "bob", Revision: "2222222222222222222222222222222222222222",
			Comments: "Speed up <the> tests & more", Files: []string{"main.go"}, When: statustest.Epoch}).
		Step("compile", status.Success).Step("test", status.Failure).Property("owners", []any{"carol"}).
		Failed().Build()
	b.Sources[0].Patch = &status.Patch{Level: 1, Body: []byte("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"), Comment: "try this"}
	if h != nil {
		for _, s := range b.Steps {
			for _, l := range s.Logs {
				var text strings.Builder
				for i := 1; i <= 40; i++ {
					fmt.Fprintf(&text, "%s line %d\n", s.Name, i)
				}
				if s.Name == "test" {
					text.WriteString("--- FAIL: TestFrob (0.01s)\n    frob_test.go:12: got 1, want 2\nFAIL\n")
				}
				h.SetLog(l, text.String())
			}
		}
	}
	return b
}

func passingBuild(number int) *status.Build {
	return statustest.NewBuild("linux").Number(number).Tags("ci").Step("compile", status.Success).Succeeded().Build()
}

func finished(b *status.Build) status.Event {
	return status.Event{Kind: status.BuildFinished, Time: b.Finished, Build: b}
}

// listenSilent accepts connections and never answers; it returns the port.
func listenSilent(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().(*net.TCPAddr).Port
}

// receive waits for a value on ch, failing the test after 10s.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: nothing after 10s", what)
		panic("unreachable")
	}
}
