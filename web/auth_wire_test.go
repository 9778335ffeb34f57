package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
)

func wireServer(t *testing.T, o Options) *httptest.Server {
	s, _ := newTestServer(t, o)
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s.Close(ctx)
		srv.Close()
	})
	return srv
}

// HTTP Basic credentials on any page count against the throttle: after
// ten wrong guesses even the right password gets 429, unchecked.
func TestBasicOnPagesThrottled(t *testing.T) {
	srv := wireServer(t, Options{Authz: Authz{Auth: auth.Users(map[string]status.Secret{"alice": "pw"}),
		Rules: map[Action]Rule{ShowUsersPage: Authenticated}}})
	get := func(pw string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/users/table", nil)
		req.SetBasicAuth("alice", pw)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get("pw"))
	for range 10 {
		require.NotEqual(t, http.StatusOK, get("guess"))
	}
	assert.Equal(t, http.StatusTooManyRequests, get("pw"))
}

// Logging out revokes the session: the old cookie, replayed, is anonymous.
func TestLogoutRevokesSession(t *testing.T) {
	srv := wireServer(t, Options{Authz: Authz{Auth: auth.Users(map[string]status.Secret{"alice": "pw"}),
		Rules: map[Action]Rule{ShowUsersPage: Authenticated}}})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values, c *http.Cookie) *http.Response {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if c != nil {
			req.AddCookie(c)
		}
		resp, err := noRedirect.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	users := func(c *http.Cookie) int {
		req, _ := http.NewRequest("GET", srv.URL+"/users/table", nil)
		req.AddCookie(c)
		resp, err := noRedirect.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	resp := post("/login", url.Values{"username": {"alice"}, "passwd": {"pw"}}, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	require.NotNil(t, session)
	require.Equal(t, http.StatusOK, users(session))
	post("/logout", url.Values{}, session)
	assert.NotEqual(t, http.StatusOK, users(session), "the logged-out cookie still works")

	// Logging in again gives a working session.
	resp = post("/login", url.Values{"username": {"alice"}, "passwd": {"pw"}}, nil)
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			assert.Equal(t, http.StatusOK, users(c))
		}
	}
}

// 1,000 /events sockets from one address do not lock out another: beyond
// the per-address cap they get 503 with the reason.
func TestEventsCapPerAddress(t *testing.T) {
	srv := wireServer(t, Options{})
	addr := srv.Listener.Addr().String()
	open := func(local string) (int, string) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		conn, err := d.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufioReader(conn), nil)
		require.NoError(t, err)
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			conn.Close()
			return resp.StatusCode, string(b)
		}
		return resp.StatusCode, ""
	}
	ok := 0
	for range 1000 {
		code, body := open("127.0.0.1")
		if code == http.StatusOK {
			ok++
			continue
		}
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Contains(t, body, "from your address")
	}
	assert.Equal(t, 32, ok)
	code, _ := open("127.0.0.2")
	assert.Equal(t, http.StatusOK, code, "another address is locked out")
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
