package stash

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// APIError is a build status Bitbucket did not take. Errors from Report
// wrap it; use errors.As to read the HTTP status code.
type APIError struct {
	SHA, Key   string
	State      State
	StatusCode int    // 0 when no response came
	Message    string // Bitbucket's message, or the network error
	Err        error
}

func (e *APIError) Error() string {
	sha := e.SHA
	if len(sha) > 12 {
		sha = sha[:12]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "stash: setting %s on commit %s (key %q): ", e.State, sha, e.Key)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "HTTP %d %s: ", e.StatusCode, http.StatusText(e.StatusCode))
	}
	b.WriteString(e.Message)
	if h := hint(e.StatusCode); h != "" {
		b.WriteString(": " + h)
	}
	return b.String()
}

func (e *APIError) Unwrap() error { return e.Err }

func hint(code int) string {
	switch code {
	case http.StatusUnauthorized:
		return "check Options.Username and Options.Password, or Options.Token"
	case http.StatusForbidden:
		return "the user may not post build statuses: it needs a licence and read access to the repository"
	case http.StatusNotFound:
		return "check Options.BaseURL, including the server's context path (such as /bitbucket)"
	case http.StatusBadRequest:
		return "Bitbucket refused the status"
	}
	return ""
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 4096

// errorMessage extracts the messages of Bitbucket's error answer,
// {"errors":[{"message":"..."}]}; other bodies are returned trimmed, and
// cut short.
func errorMessage(body []byte) string {
	var v struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) == nil {
		var msgs []string
		for _, e := range v.Errors {
			if m := strings.TrimSpace(e.Message); m != "" {
				msgs = append(msgs, m)
			}
		}
		if len(msgs) > 0 {
			return strings.ToValidUTF8(strings.Join(msgs, "; "), "\uFFFD")
		}
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "\uFFFD")), " ")
	if len(s) > 200 {
		cut := 200
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
