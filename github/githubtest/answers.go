package githubtest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldci/herald/internal/forge/double"
)

// An Answer writes one of GitHub's answers and returns its status code.
// Queue answers with Server.Fail.
type Answer func(w http.ResponseWriter) int

const docs = "https://docs.github.com/rest"

// PrimaryLimit is GitHub's answer once the hourly requests are used up:
// 403 with X-RateLimit-Remaining 0 and the reset time.
func PrimaryLimit(reset time.Time) Answer {
	return func(w http.ResponseWriter) int {
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		return writeJSON(w, http.StatusForbidden, map[string]string{"message": "API rate limit exceeded for user ID 1.",
			"documentation_url": docs + "/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"})
	}
}

// SecondaryLimit is GitHub's answer to too many requests at once: 403 with
// Retry-After (seconds) when retryAfter is not empty.
func SecondaryLimit(retryAfter string) Answer {
	return func(w http.ResponseWriter) int {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		return writeJSON(w, http.StatusForbidden, map[string]string{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": docs + "/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"})
	}
}

// Reply answers code with body as it is, and header (name, value pairs).
func Reply(code int, body string, header ...string) Answer {
	return func(w http.ResponseWriter) int {
		return double.Write(w, "application/json; charset=utf-8", code, body, header...)
	}
}

// Error writes GitHub's error shape, {"message", "documentation_url"}.
func Error(w http.ResponseWriter, code int, message string) int {
	return writeJSON(w, code, map[string]string{"message": message, "documentation_url": docs})
}

// Validation writes GitHub's 422 for a field it refuses.
func Validation(w http.ResponseWriter, resource, field, message string) int {
	return writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
		"errors":            []map[string]string{{"resource": resource, "field": field, "code": "custom", "message": message}},
		"documentation_url": docs})
}

func notFound(w http.ResponseWriter) int { return Error(w, http.StatusNotFound, "Not Found") }

func notFoundDoc(w http.ResponseWriter, doc string) int {
	return writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": docs + "/" + doc})
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
	return code
}
