package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestOptionsValidation(t *testing.T) {
	h := statustest.NewHistory()
	for _, tt := range []struct {
		o    Options
		want string
	}{
		{Options{}, "Options.History is nil"},
		{Options{History: h, NumBuilds: -1}, "NumBuilds"},
		{Options{History: h, Prefix: "ci"}, "Prefix"},
		{Options{History: h, Prefix: "/ci/"}, "Prefix"},
		{Options{History: h, BaseURL: "ci.example.org"}, "BaseURL"},
		{Options{History: h, Handlers: map[string]http.Handler{"x": http.NotFoundHandler()}}, "Handlers"},
		{Options{History: h, HTTPLog: &HTTPLog{}}, "HTTPLog.Path"},
		{Options{History: h, Authz: Authz{Rules: map[Action]Rule{"forcebuild": Always}}}, `unknown action "forcebuild"`},
		{Options{History: h, Authz: Authz{SessionKey: "short"}}, "SessionKey"},
		{Options{History: h, Templates: fstest.MapFS{"builder.html": {Data: []byte("{{.Nope")}}}, "template builder.html"},
	} {
		_, err := New(tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "web: ") {
			t.Errorf("New(%+v) = %v, want an error about %s", tt.o, err, tt.want)
		}
	}
}

func TestPrefixAndMounts(t *testing.T) {
	hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hook "+r.Method+" "+r.URL.Path)
	})
	s, _ := newTestServer(t, Options{Prefix: "/ci", ChangeHook: hook, Handlers: map[string]http.Handler{
		"/extra/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "extra") }),
	}})
	code, body := get(t, s, "/ci/builders")
	if code != 200 || !strings.Contains(body, `href="/ci/builders/linux"`) || !strings.Contains(body, `href="/ci/default.css"`) {
		t.Errorf("prefixed page = %d, links without the prefix", code)
	}
	if code, _ := get(t, s, "/builders"); code != 404 {
		t.Errorf("path outside the prefix = %d", code)
	}
	if code, _ := get(t, s, "/ci"); code != 301 {
		t.Errorf("/ci = %d, want a redirect to /ci/", code)
	}
	// Webhooks come from elsewhere: POSTs reach the hook without the
	// cross-origin check.
	r := httptestPost("/ci/change_hook/github", nil)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if w := serve(s, r); w.Body.String() != "hook POST /change_hook/github" {
		t.Errorf("change hook got %q", w.Body)
	}
	if _, body := get(t, s, "/ci/extra/x"); body != "extra" {
		t.Errorf("mounted handler got %q", body)
	}
	if _, body := get(t, s, "/ci/robots.txt"); !strings.Contains(body, "Disallow: /ci/builders") {
		t.Errorf("robots.txt ignores the prefix: %s", body)
	}
}

func TestPublicHTMLAndTemplates(t *testing.T) {
	pub := writeFiles(t, map[string]string{
		"index.html":  "<h1>our own index</h1>",
		"default.css": "body{color:red}",
		"logo.png":    "\x89PNG",
		"robots.txt":  "User-agent: *\nDisallow: /\n",
	})
	s, _ := newTestServer(t, Options{PublicHTML: pub})
	for path, want := range map[string]string{"/": "our own index", "/default.css": "color:red", "/logo.png": "PNG", "/robots.txt": "Disallow: /\n"} {
		if code, body := get(t, s, path); code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d %q, want PublicHTML's file", path, code, body)
		}
	}
	tpl := fstest.MapFS{
		"root.html":   {Data: []byte(`{{template "top" .}}<p>custom welcome</p>{{template "bottom" .}}`)},
		"layout.html": {Data: []byte(`{{define "top"}}<html><body class="mine">{{end}}{{define "bottom"}}</body></html>{{end}}`)},
	}
	s, _ = newTestServer(t, Options{PublicHTML: pub, Templates: tpl})
	if _, body := get(t, s, "/"); !strings.Contains(body, "custom welcome") || !strings.Contains(body, `class="mine"`) {
		t.Errorf("template override does not win over index.html: %q", body)
	}
	if _, body := get(t, s, "/builders"); !strings.Contains(body, `class="mine"`) || !strings.Contains(body, "/builders/linux") {
		t.Errorf("layout override not used by other pages: %q", body)
	}
}

func TestHTTPLogRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "http.log")
	s, _ := newTestServer(t, Options{HTTPLog: &HTTPLog{Path: path, RotateLength: 300, MaxRotatedFiles: 2}})
	for range 12 {
		get(t, s, "/builders?builder=linux")
	}
	get(t, s, "/nope", s.sessions.cookie("alice bob", time.Now(), false, "/"))
	s.Close(context.Background())
	names, _ := filepath.Glob(path + "*")
	if len(names) != 3 {
		t.Fatalf("log files %v, want http.log, .1 and .2", names)
	}
	for _, n := range names {
		fi, _ := os.Stat(n)
		if fi.Size() > 300 {
			t.Errorf("%s is %d bytes, over RotateLength", n, fi.Size())
		}
	}
	last, _ := os.ReadFile(path)
	if !strings.Contains(string(last), ` - alice_bob [`) || !strings.Contains(string(last), `"GET /nope HTTP/1.1" 404`) {
		t.Errorf("last request not logged: %s", last)
	}
	rotated, _ := os.ReadFile(path + ".1")
	if !strings.Contains(string(rotated), `"GET /builders?builder=linux HTTP/1.1" 200`) {
		t.Errorf("rotated log: %s", rotated)
	}
}

func TestServeUnixAndClose(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sock := filepath.Join(t.TempDir(), "web.sock")
	done := make(chan error, 1)
	go func() { done <- s.ServeUnix(sock) }()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		for {
			c, err := d.DialContext(ctx, "unix", sock)
			if err == nil || ctx.Err() != nil {
				return c, err
			}
			select { // the server goroutine may not be listening yet
			case err := <-done:
				return nil, err
			case <-time.After(5 * time.Millisecond):
			}
		}
	}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://unix/builders", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "/builders/linux") {
		t.Errorf("over the socket: %d", resp.StatusCode)
	}
	client.CloseIdleConnections()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("ServeUnix after Close = %v", err)
	}
	if err := s.ListenAndServe("127.0.0.1:0"); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("ListenAndServe after Close = %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestListenAndServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	s, _ := newTestServer(t, Options{Authz: Authz{Auth: auth.Users(map[string]status.Secret{"alice": "pw"})}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServeTLS(addr, certFile, keyFile) }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var resp *http.Response
	for {
		resp, err = client.PostForm("https://"+addr+"/login", map[string][]string{"username": {"alice"}, "passwd": {"pw"}})
		if err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatal(err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	resp.Body.Close()
	if c := resp.Cookies(); resp.StatusCode != 303 || len(c) == 0 || !c[0].Secure {
		t.Errorf("login over TLS = %d, cookies %v: want a Secure session cookie", resp.StatusCode, c)
	}
	client.CloseIdleConnections()
	s.Close(context.Background())
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("ListenAndServeTLS after Close = %v", err)
	}
}

func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile, pool
}

func TestConformance(t *testing.T) {
	statustest.Conformance(t, func() status.Reporter {
		s, err := New(Options{History: fixture(), Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
