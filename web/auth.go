package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// Authenticator checks a user's password. Implementations must be safe for
// concurrent use; an error means the check could not be made (unreadable
// file, unreachable directory), not a wrong password.
type Authenticator interface {
	Authenticate(ctx context.Context, user, password string) (bool, error)
}

// AuthFunc is an Authenticator written as a function.
type AuthFunc func(ctx context.Context, user, password string) (bool, error)

func (f AuthFunc) Authenticate(ctx context.Context, user, password string) (bool, error) {
	return f(ctx, user, password)
}

// BasicAuth checks logins against a fixed table of users and passwords:
// Buildbot's BasicAuth.
func BasicAuth(users map[string]status.Secret) Authenticator {
	return AuthFunc(func(_ context.Context, user, password string) (bool, error) {
		want, ok := users[user]
		// Compare even for unknown users so timing tells nothing.
		eq := subtle.ConstantTimeCompare([]byte(want.Reveal()), []byte(password)) == 1
		return ok && eq, nil
	})
}

// PasswordAttribute is the status.User attribute UsersAuth reads: an
// htpasswd-style hash (bcrypt, APR1 or SHA) of the user's web password.
const PasswordAttribute = "bb_password"

// UsersAuth checks logins against the users the host knows (History.Users):
// Buildbot's UsersAuth. A user logs in with their identifier and the
// password whose hash is stored in the PasswordAttribute attribute.
func UsersAuth(h status.History) Authenticator {
	return AuthFunc(func(ctx context.Context, user, password string) (bool, error) {
		users, err := h.Users(ctx)
		if err != nil {
			return false, err
		}
		for _, u := range users {
			if u.Name == user && u.Attributes[PasswordAttribute] != "" {
				return checkHash(u.Attributes[PasswordAttribute], password)
			}
		}
		return false, nil
	})
}

const sessionCookie = "herald_session"

// sessions signs and checks session cookies: "user|expiry|mac", the MAC an
// HMAC-SHA256 of the rest, so the cookie needs no server-side state.
type sessions struct {
	key []byte
	ttl time.Duration
}

func newSessions(a *Authz) (*sessions, error) {
	key := []byte(a.SessionKey.Reveal())
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	return &sessions{key: key, ttl: a.SessionTTL}, nil
}

func (s *sessions) mac(payload string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *sessions) cookie(user string, now time.Time, secure bool, path string) *http.Cookie {
	exp := now.Add(s.ttl)
	payload := base64.RawURLEncoding.EncodeToString([]byte(user)) + "|" + strconv.FormatInt(exp.Unix(), 10)
	return &http.Cookie{
		Name: sessionCookie, Value: payload + "|" + s.mac(payload), Path: path,
		Expires: exp, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	}
}

// user returns the user of a valid, unexpired session cookie, or "".
func (s *sessions) user(r *http.Request, now time.Time) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	i := strings.LastIndexByte(c.Value, '|')
	if i < 0 {
		return ""
	}
	payload, mac := c.Value[:i], c.Value[i+1:]
	if !hmac.Equal([]byte(mac), []byte(s.mac(payload))) {
		return ""
	}
	enc, expS, ok := strings.Cut(payload, "|")
	exp, err := strconv.ParseInt(expS, 10, 64)
	if !ok || err != nil || now.Unix() >= exp {
		return ""
	}
	user, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return ""
	}
	return string(user)
}

// userOf returns who makes the request ("" for anonymous): the trusted
// front end's user, the session cookie's, or valid HTTP Basic credentials.
func (s *Server) userOf(r *http.Request) string {
	a := &s.opts.Authz
	if a.UseHTTPHeader && s.fromTrustedProxy(r) {
		if u := r.Header.Get(a.UserHeader); u != "" {
			return u
		}
		if u, _, ok := r.BasicAuth(); ok && u != "" {
			return u
		}
	}
	if u := s.sessions.user(r, s.now()); u != "" {
		return u
	}
	if u, p, ok := r.BasicAuth(); ok && a.Auth != nil && !a.UseHTTPHeader {
		if good, err := a.Auth.Authenticate(r.Context(), u, p); err == nil && good {
			return u
		}
	}
	return ""
}

func (s *Server) fromTrustedProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range s.opts.Authz.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
