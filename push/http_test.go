package push

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTLS: Options.TLS trusts a private CA.
func TestTLS(t *testing.T) {
	rc := newReceiver(t, Form, 0, 0)
	srv := httptest.NewTLSServer(rc)
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	p, err := New(Options{URL: srv.URL, TLS: &tls.Config{RootCAs: pool}})
	require.NoError(t, err)
	require.NoError(t, p.Report(context.Background(), buildEvent(1)))
	checkInOrder(t, rc.packets(), 1, 1)
	require.NoError(t, p.Close(context.Background()))
}
