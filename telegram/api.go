package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// The Bot API's shapes, as far as the bot reads them
// (https://core.telegram.org/bots/api).

type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// apiUpdate is one incoming update; the bot reads messages only.
type apiUpdate struct {
	UpdateID int64       `json:"update_id"`
	Message  *apiMessage `json:"message"`
}

// apiMessage is a message said to (or near) the bot.
type apiMessage struct {
	MessageID int64    `json:"message_id"`
	From      *apiUser `json:"from"`
	Chat      apiChat  `json:"chat"`
	Text      string   `json:"text"`
}

// apiUser is a Telegram user or bot.
type apiUser struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	Username  string `json:"username"`
}

// apiChat is where a message was said.
type apiChat struct {
	ID    int64  `json:"id"`
	Type  string `json:"type"` // private, group, supergroup or channel
	Title string `json:"title"`
}

// parseUpdates reads getUpdates' result.
func parseUpdates(data []byte) ([]apiUpdate, error) {
	var us []apiUpdate
	if err := json.Unmarshal(data, &us); err != nil {
		return nil, fmt.Errorf("telegram: getUpdates: unreadable result: %w", err)
	}
	return us, nil
}

// maxResponse bounds what the bot reads of a response (100 updates of
// long messages fit many times).
const maxResponse = 8 << 20

// call invokes a Bot API method with params as JSON and decodes its result
// into out (when not nil).
func (b *Bot) call(ctx context.Context, method string, params, out any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("telegram: %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.o.APIURL+"/bot"+b.o.Token.Reveal()+"/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("telegram: %s: %s", method, b.redact(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return status.ClassifyNetError(fmt.Errorf("telegram: %s: %w", method, b.redactURLError(err)))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return status.ClassifyNetError(fmt.Errorf("telegram: %s: reading the answer: %w", method, b.redactURLError(err)))
	}
	var r apiResponse
	jerr := json.Unmarshal(data, &r)
	if resp.StatusCode/100 == 2 && jerr == nil && r.OK {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(r.Result, out); err != nil {
			return fmt.Errorf("telegram: %s: unreadable result: %w", method, err)
		}
		return nil
	}
	return fmt.Errorf("telegram: %s: %w", method, b.classify(resp, data, &r))
}

// classify turns a refusal into an error: 429 waits parameters.retry_after
// (or Retry-After), 5xx are retryable, the rest permanent.
func (b *Bot) classify(resp *http.Response, data []byte, r *apiResponse) error {
	code := resp.StatusCode
	if code/100 == 2 { // 200 with ok:false, or not the API's JSON
		code = r.ErrorCode
	}
	text := data
	if r.Description != "" {
		text = []byte(r.Description)
	}
	e := &status.ResponseError{Code: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code)),
		Body: status.ReplyText(bytes.TrimSpace(text[:min(len(text), 512)]), b.o.Token.Reveal())}
	if code == 0 {
		e.Status = resp.Status
	}
	after := time.Duration(0)
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		after = time.Duration(s) * time.Second
	}
	if r.Parameters != nil && r.Parameters.RetryAfter > 0 {
		after = time.Duration(r.Parameters.RetryAfter) * time.Second
	}
	switch {
	case code == http.StatusTooManyRequests || code >= 500 || code == 0:
		return status.Retryable(e, after)
	case r.Parameters != nil && r.Parameters.MigrateToChatID != 0:
		return fmt.Errorf("%w (the group is now the supergroup %d: put that ID in Options.Chats)", e, r.Parameters.MigrateToChatID)
	}
	return e
}

// redactURLError keeps the token (in the URL path) out of net/http's
// *url.Error, keeping what it wraps for errors.Is.
func (b *Bot) redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: b.redact(ue.URL), Err: redactedError{ue.Err, b}}
	}
	return redactedError{err, b}
}

// redact replaces the token in s.
func (b *Bot) redact(s string) string {
	return strings.ReplaceAll(s, b.o.Token.Reveal(), "<token>")
}

// redactedError is an error whose message has the token replaced; it
// unwraps to the original for errors.Is and errors.As.
type redactedError struct {
	err error
	b   *Bot
}

func (e redactedError) Error() string { return e.b.redact(e.err.Error()) }
func (e redactedError) Unwrap() error { return e.err }
