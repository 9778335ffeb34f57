package stashtest

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/heraldci/herald/internal/forge/double"
)

// An Answer writes one of Bitbucket's answers and returns its status code.
// Queue answers with Server.Fail.
type Answer func(w http.ResponseWriter) int

// Error writes Bitbucket's error shape:
// {"errors":[{"context":null,"message":"…","exceptionName":"…"}]}.
func Error(w http.ResponseWriter, code int, exception, message string) int {
	e := map[string]any{"context": nil, "message": message, "exceptionName": nil}
	if exception != "" {
		e["exceptionName"] = exception
	}
	return writeJSON(w, code, map[string]any{"errors": []any{e}})
}

// Validation writes Bitbucket's 400 for a field it refuses.
func Validation(w http.ResponseWriter, field, message string) int {
	return writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []any{map[string]any{
		"context": field, "message": message, "exceptionName": "com.atlassian.bitbucket.validation.ArgumentValidationException"}}})
}

// RateLimited is Bitbucket Data Center's answer when a user's requests are
// throttled: 429 with Retry-After in seconds.
func RateLimited(retryAfter int) Answer {
	return func(w http.ResponseWriter) int {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		return Error(w, http.StatusTooManyRequests, "com.atlassian.bitbucket.ratelimit.RateLimitedException",
			"You have been rate limited. Please wait and try again later.")
	}
}

// Reply answers code with body as it is, and header (name, value pairs).
func Reply(code int, body string, header ...string) Answer {
	return func(w http.ResponseWriter) int {
		return double.Write(w, "application/json;charset=UTF-8", code, body, header...)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
	return code
}
