package stream

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/heraldci/herald/auth"
)

// authorized checks the request's Basic credentials through the Throttle,
// answering 401 when they are missing or wrong and 429 when the address
// failed too often.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	user, pw, ok := r.BasicAuth()
	if !ok && s.o.Anonymous {
		return true
	}
	var err error = auth.ErrDenied
	if ok && s.o.Auth != nil {
		err = s.o.Throttle.Authenticate(r.Context(), s.o.Auth, auth.ClientAddr(r), user, pw)
	}
	if err == nil {
		return true
	}
	s.refused.Add(1)
	switch {
	case errors.Is(err, auth.ErrThrottled):
		w.Header().Set("Retry-After", strconv.Itoa(int(s.o.Throttle.Window().Seconds())))
		http.Error(w, "stream: "+err.Error(), http.StatusTooManyRequests)
		return false
	case !errors.Is(err, auth.ErrDenied):
		s.log.Error("stream: checking credentials", "user", user, "err", err)
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="`+s.o.Realm+`", charset="UTF-8"`)
	http.Error(w, "stream: authentication required", http.StatusUnauthorized)
	return false
}
