package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldci/herald/auth"
)

const sessionCookie = "herald_session"

// sessions signs and checks session cookies: "user|issued|expiry|mac",
// the MAC an HMAC-SHA256 of the rest. A cookie carries its own proof; what
// the server keeps is only when each user last logged out, so that logging
// out ends every session of that user issued before (kept for SessionTTL,
// in memory: with a fixed SessionKey, a restart forgets the revocations,
// and cookies issued before it stay valid until they expire).
type sessions struct {
	key []byte
	ttl time.Duration

	mu         sync.Mutex
	loggedOut  map[string]time.Time // user → last logout
	sweepAfter time.Time
}

func newSessions(a *Authz) (*sessions, error) {
	key := []byte(a.SessionKey.Reveal())
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	return &sessions{key: key, ttl: a.SessionTTL, loggedOut: map[string]time.Time{}}, nil
}

func (s *sessions) mac(payload string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *sessions) cookie(user string, now time.Time, secure bool, path string) *http.Cookie {
	exp := now.Add(s.ttl)
	payload := base64.RawURLEncoding.EncodeToString([]byte(user)) + "|" +
		strconv.FormatInt(now.UnixNano(), 10) + "|" + strconv.FormatInt(exp.Unix(), 10)
	return &http.Cookie{
		Name: sessionCookie, Value: payload + "|" + s.mac(payload), Path: path,
		Expires: exp, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	}
}

// user returns the user of a valid, unexpired, unrevoked session cookie,
// or "".
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
	parts := strings.Split(payload, "|")
	if len(parts) != 3 {
		return ""
	}
	issued, err1 := strconv.ParseInt(parts[1], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	user, err3 := base64.RawURLEncoding.DecodeString(parts[0])
	if err1 != nil || err2 != nil || err3 != nil || now.Unix() >= exp {
		return ""
	}
	s.mu.Lock()
	out, revoked := s.loggedOut[string(user)]
	s.mu.Unlock()
	if revoked && issued <= out.UnixNano() {
		return ""
	}
	return string(user)
}

// revoke ends every session of user issued until now.
func (s *sessions) revoke(user string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.After(s.sweepAfter) { // forget logouts older than any cookie
		for u, t := range s.loggedOut {
			if now.Sub(t) > s.ttl {
				delete(s.loggedOut, u)
			}
		}
		s.sweepAfter = now.Add(s.ttl / 4)
	}
	s.loggedOut[user] = now
}

// identify adds the request's user to its context: the trusted front end's
// user, the session cookie's, or that of valid HTTP Basic credentials.
// Basic credentials count against Authz.Throttle like the login form's;
// past it the request is answered 429 here and false returned.
func (s *Server) identify(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	u, err := s.userOf(r)
	if errors.Is(err, auth.ErrThrottled) {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.opts.Authz.Throttle.Window().Seconds())))
		s.renderError(w, r, http.StatusTooManyRequests, "Too many failed logins from your address: try again in a few minutes.")
		return r, false
	}
	return r.WithContext(context.WithValue(r.Context(), userKey, u)), true
}

// userOf returns who makes the request ("" for anonymous).
func (s *Server) userOf(r *http.Request) (string, error) {
	a := &s.opts.Authz
	if a.UseHTTPHeader && s.fromTrustedProxy(r) {
		if u := r.Header.Get(a.UserHeader); u != "" {
			return u, nil
		}
		if u, _, ok := r.BasicAuth(); ok && u != "" {
			return u, nil
		}
	}
	if u := s.sessions.user(r, s.now()); u != "" {
		return u, nil
	}
	if u, p, ok := r.BasicAuth(); ok && a.Auth != nil && !a.UseHTTPHeader {
		err := a.Throttle.Authenticate(r.Context(), a.Auth, auth.ClientAddr(r), u, p)
		switch {
		case err == nil:
			return u, nil
		case errors.Is(err, auth.ErrThrottled):
			return "", err
		case !errors.Is(err, auth.ErrDenied):
			s.opts.Logger.Error("web: checking HTTP Basic credentials", "user", u, "err", err)
		}
	}
	return "", nil
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
