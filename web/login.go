package web

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldci/herald/auth"
)

type loginData struct {
	Next  string
	Error string
}

func (s *Server) loginPage(r *http.Request) (*view, error) {
	if s.opts.Authz.Auth == nil {
		return nil, notFound("This server has no login: set Authz.Auth.")
	}
	return &view{Template: "login.html", Title: "Log in", Data: loginData{Next: sameSite(r.URL.Query().Get("next"), "/")}}, nil
}

// loginAction checks the form's credentials and sets the session cookie.
func (s *Server) loginAction(w http.ResponseWriter, r *http.Request) {
	a := s.opts.Authz.Auth
	if a == nil {
		s.renderError(w, r, http.StatusNotFound, "This server has no login: set Authz.Auth.")
		return
	}
	name, password := r.PostFormValue("username"), r.PostFormValue("passwd")
	next := sameSite(r.PostFormValue("next"), "/")
	err := s.opts.Authz.Throttle.Authenticate(r.Context(), a, auth.ClientAddr(r), name, password)
	if errors.Is(err, auth.ErrThrottled) {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.opts.Authz.Throttle.Window().Seconds())))
		s.render(w, r, http.StatusTooManyRequests, &view{Template: "login.html", Title: "Log in",
			Data: loginData{Next: next, Error: "Too many failed logins from your address: try again in a few minutes."}})
		return
	}
	if err != nil && !errors.Is(err, auth.ErrDenied) {
		s.opts.Logger.Error("web: login", "user", name, "err", err)
	}
	if err != nil || name == "" {
		s.render(w, r, http.StatusUnauthorized, &view{Template: "login.html", Title: "Log in",
			Data: loginData{Next: next, Error: "Wrong user name or password."}})
		return
	}
	http.SetCookie(w, s.sessions.cookie(name, s.now(), r.TLS != nil, s.cookiePath()))
	http.Redirect(w, r, s.opts.Prefix+next, http.StatusSeeOther)
}

// logoutAction ends the user's sessions, in this browser and elsewhere:
// a copied cookie stops working too.
func (s *Server) logoutAction(w http.ResponseWriter, r *http.Request) {
	if u := s.sessions.user(r, s.now()); u != "" {
		s.sessions.revoke(u, s.now())
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: s.cookiePath(), MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, s.opts.Prefix+sameSite(r.PostFormValue("next"), "/"), http.StatusSeeOther)
}

// sameSite returns p when it is a path on this server (relative to the
// prefix), def otherwise: redirects never lead to another site, whatever a
// form says ("//evil.example", "https://...", "/\evil", "javascript:").
func sameSite(p, def string) string {
	if p == "" || p[0] != '/' || len(p) > 1 && (p[1] == '/' || p[1] == '\\') ||
		strings.ContainsAny(p, "\r\n\t\\") {
		return def
	}
	return p
}

const flashCookie = "herald_flash"

// setFlash leaves a message for the next page (the result of an action),
// signed so another site cannot plant text on ours.
func (s *Server) setFlash(w http.ResponseWriter, msg string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(msg))
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: v + "|" + s.sessions.mac("flash|"+v),
		Path: s.cookiePath(), HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 60})
}

func (s *Server) flashCookie(r *http.Request) (string, bool) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return "", false
	}
	v, mac, ok := strings.Cut(c.Value, "|")
	if !ok || !hmac.Equal([]byte(mac), []byte(s.sessions.mac("flash|"+v))) {
		return "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return "", true
	}
	return string(b), true
}

func (s *Server) flash(r *http.Request) string {
	msg, _ := s.flashCookie(r)
	return msg
}
