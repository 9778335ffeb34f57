package bitbuckettest

import (
	"encoding/json"
	"net/http"

	"github.com/heraldci/herald/internal/forge/double"
)

// An Answer writes one of Bitbucket's answers and returns its status code.
// Queue answers with Server.Fail.
type Answer func(w http.ResponseWriter) int

// Error writes Bitbucket Cloud's error shape,
// {"type": "error", "error": {"message": "…"}}.
func Error(w http.ResponseWriter, code int, message string) int {
	return writeJSON(w, code, map[string]any{"type": "error", "error": map[string]any{"message": message}})
}

// FieldError writes Bitbucket Cloud's 400 for a field it refuses, with
// the field named under "fields".
func FieldError(w http.ResponseWriter, field, message string) int {
	return writeJSON(w, http.StatusBadRequest, map[string]any{"type": "error", "error": map[string]any{
		"message": field + ": " + message, "fields": map[string][]string{field: {message}}}})
}

// RateLimited is Bitbucket Cloud's answer once an hour's requests are used
// up: 429 and the rate-limit headers, without Retry-After.
func RateLimited(limit int) Answer {
	return func(w http.ResponseWriter) int {
		w.Header().Set("X-RateLimit-Limit", itoa(limit))
		w.Header().Set("X-RateLimit-Resource", "api-repository")
		w.Header().Set("X-RateLimit-NearLimit", "true")
		return Error(w, http.StatusTooManyRequests, "Rate limit for this resource has been exceeded")
	}
}

// Reply answers code with body as it is, and header (name, value pairs).
func Reply(code int, body string, header ...string) Answer {
	return func(w http.ResponseWriter) int {
		return double.Write(w, "application/json; charset=utf-8", code, body, header...)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	b, _ := json.Marshal(v)
	return double.Write(w, "application/json; charset=utf-8", code, string(b))
}
