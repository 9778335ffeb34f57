package irc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"
)

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "irc.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestTLS connects over TLS to a server whose certificate the bot is told
// to trust, and fails (and retries) against the same server without that.
func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	s := serveFake(t, l, func(c net.Conn) func(string) bool {
		return func(line string) bool {
			if strings.HasPrefix(line, "USER ") {
				fmt.Fprintf(c, ":srv 001 herald :Welcome herald!~herald@127.0.0.1\r\n")
			}
			return true
		}
	})
	port := s.port()

	b, err := New(Options{Host: "127.0.0.1", Port: port, Nick: "herald", UseTLS: true, TLSConfig: &tls.Config{RootCAs: pool},
		Channels: []Channel{{Name: "#tls"}}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBot(t, b)
	readUntil(t, s.next(t), "JOIN #tls")

	sink := &testkit.Buffer{}
	untrusting, err := New(Options{Host: "127.0.0.1", Port: port, Nick: "other", UseTLS: true, FailedDelay: time.Hour,
		Logger: slog.New(slog.NewTextHandler(sink, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBot(t, untrusting)
	waitFor(t, func() bool { return strings.Contains(sink.String(), "connection failed") }, "the failed handshake in the log")
	if s := sink.String(); !strings.Contains(s, "TLS handshake") || !strings.Contains(s, "retry_in=1h0m0s") {
		t.Errorf("log:\n%s", s)
	}
}
