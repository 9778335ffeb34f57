package stream

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
)

// authorized checks the request's Basic credentials, answering 401 when
// they are missing or wrong.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	user, pw, ok := r.BasicAuth()
	if !ok && s.o.Anonymous {
		return true
	}
	if ok && s.check(user, pw) {
		return true
	}
	s.refused.Add(1)
	w.Header().Set("WWW-Authenticate", `Basic realm="`+s.o.Realm+`", charset="UTF-8"`)
	http.Error(w, "stream: authentication required", http.StatusUnauthorized)
	return false
}

// check compares in constant time: hashing both sides first makes the
// comparison independent of where the passwords differ and of their
// lengths, and an unknown user costs the same as a wrong password.
func (s *Server) check(user, pw string) bool {
	if s.o.Authenticate != nil {
		return s.o.Authenticate(user, pw)
	}
	want, known := s.o.Users[user]
	w := sha256.Sum256([]byte(want.Reveal()))
	g := sha256.Sum256([]byte(pw))
	match := subtle.ConstantTimeCompare(w[:], g[:]) == 1
	return known && match
}
