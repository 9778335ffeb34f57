package gitlabtest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldci/herald/internal/forge/double"
)

// An Answer writes one of GitLab's answers and returns its status code.
// Queue answers with Server.Fail.
type Answer func(w http.ResponseWriter) int

// Error writes GitLab's error shape, {"message": "…"}.
func Error(w http.ResponseWriter, code int, message string) int {
	return writeJSON(w, code, map[string]any{"message": message})
}

// Invalid writes GitLab's 400 for parameters it refuses,
// {"error": "state does not have a valid value"}.
func Invalid(w http.ResponseWriter, message string) int {
	return writeJSON(w, http.StatusBadRequest, map[string]any{"error": message})
}

// FieldErrors writes GitLab's 400 for a record it refuses, such as
// {"message": {"description": ["is too long (maximum is 255 characters)"]}}.
func FieldErrors(w http.ResponseWriter, field, message string) int {
	return writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string][]string{field: {message}}})
}

// CannotTransition is GitLab's answer to a state the status cannot move
// to from its current one, such as running again.
func CannotTransition(w http.ResponseWriter, event, from string) int {
	return Error(w, http.StatusBadRequest, "Cannot transition status via :"+event+" from :"+from+
		" (Reason(s): Status cannot transition via \""+event+"\")")
}

// Conflict is GitLab's 409 when another request changed the status at the
// same time.
func Conflict(w http.ResponseWriter) int {
	return Error(w, http.StatusConflict, "409 Conflict: Cannot transition status via :run from :running")
}

// RateLimited is GitLab's answer once a user's requests are used up: 429,
// the body "Retry later", Retry-After in seconds and the RateLimit-*
// headers, RateLimit-Reset a Unix time.
func RateLimited(limit int, reset time.Time, now time.Time) Answer {
	return func(w http.ResponseWriter) int {
		h := w.Header()
		h.Set("RateLimit-Name", "throttle_authenticated_api")
		h.Set("RateLimit-Limit", strconv.Itoa(limit))
		h.Set("RateLimit-Observed", strconv.Itoa(limit+1))
		h.Set("RateLimit-Remaining", "0")
		h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
		h.Set("Retry-After", strconv.Itoa(int((reset.Sub(now)+time.Second-1)/time.Second)))
		return double.Write(w, "text/plain", http.StatusTooManyRequests, "Retry later\n")
	}
}

// Reply answers code with body as it is, and header (name, value pairs).
func Reply(code int, body string, header ...string) Answer {
	return func(w http.ResponseWriter) int {
		return double.Write(w, "application/json", code, body, header...)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	b, _ := json.Marshal(v)
	return double.Write(w, "application/json", code, string(b))
}
