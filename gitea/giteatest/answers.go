package giteatest

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/heraldci/herald/internal/forge/double"
)

// An Answer writes one of Gitea's answers and returns its status code.
// Queue answers with Server.Fail.
type Answer func(w http.ResponseWriter) int

// Error writes Gitea's error shape, {"message": "…", "url": "…"}, the url
// pointing at the API's documentation.
func Error(w http.ResponseWriter, code int, message string) int {
	return writeJSON(w, code, map[string]any{"message": message, "url": "/api/swagger"})
}

// NotFound is Gitea's 404 for a repository or commit it does not have.
func NotFound(w http.ResponseWriter) int {
	return writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}, "message": "The target couldn't be found.", "url": "/api/swagger"})
}

// RateLimited is a proxy's answer once requests are used up: 429 with
// Retry-After in seconds.
func RateLimited(retryAfter int) Answer {
	return func(w http.ResponseWriter) int {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		return Error(w, http.StatusTooManyRequests, "Too Many Requests")
	}
}

// Reply answers code with body as it is, and header (name, value pairs).
func Reply(code int, body string, header ...string) Answer {
	return func(w http.ResponseWriter) int {
		return double.Write(w, "application/json;charset=utf-8", code, body, header...)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	b, _ := json.Marshal(v)
	return double.Write(w, "application/json;charset=utf-8", code, string(b))
}
