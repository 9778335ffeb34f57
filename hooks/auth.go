package hooks

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/heraldci/herald/auth"
)

// authorized checks the request's HTTP Basic credentials through the
// Throttle, answering 401 when they are missing or wrong and 429 when the
// address failed too often (the password is then not checked at all).
func (h *Handler) authorized(w http.ResponseWriter, r *http.Request, dialect string) bool {
	user, pass, ok := r.BasicAuth()
	var err error = auth.ErrDenied
	if ok {
		err = h.throttle.Authenticate(r.Context(), h.auth, auth.ClientAddr(r), user, pass)
	}
	switch {
	case err == nil:
		return true
	case errors.Is(err, auth.ErrThrottled):
		w.Header().Set("Retry-After", strconv.Itoa(int(h.throttle.Window().Seconds())))
		h.reject(w, r, dialect, &Error{Status: http.StatusTooManyRequests, Reason: "too many failed logins from this address: try again in a few minutes"})
		return false
	case !errors.Is(err, auth.ErrDenied):
		h.log.Error("hooks: checking credentials", "user", user, "err", err)
	}
	w.Header().Set("WWW-Authenticate", h.challenge)
	h.reject(w, r, dialect, &Error{Status: http.StatusUnauthorized, Reason: "valid credentials required"})
	return false
}
