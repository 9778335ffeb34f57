package matrix

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
	"time"

	"github.com/heraldci/herald/status"
)

// maxAnswer bounds the bytes read of a homeserver's answer.
const maxAnswer = 8 << 20

// send puts one message in its room: PUT
// /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}.
func (b *Bot) send(ctx context.Context, m message) error {
	path := "/_matrix/client/v3/rooms/" + url.PathEscape(m.room) + "/send/m.room.message/" + url.PathEscape(m.txn)
	body, err := json.Marshal(m.content)
	if err != nil {
		return fmt.Errorf("matrix: sending to %s: %w", m.room, err)
	}
	answer, err := b.do(ctx, http.MethodPut, path, nil, body)
	if err != nil {
		return fmt.Errorf("matrix: sending to %s: %w", m.room, err)
	}
	var sent struct {
		EventID string `json:"event_id"`
	}
	if json.Unmarshal(answer, &sent) != nil || sent.EventID == "" {
		return fmt.Errorf("matrix: sending to %s: the homeserver's answer has no event_id", m.room)
	}
	return nil
}

// sync asks for what happened since since (everything, when ""), waiting
// up to timeout for news.
func (b *Bot) sync(ctx context.Context, since string, timeout time.Duration) ([]byte, error) {
	q := url.Values{"timeout": {strconv.FormatInt(timeout.Milliseconds(), 10)}}
	if since != "" {
		q.Set("since", since)
	} else {
		// The first sync only finds where "now" is: one event per room.
		q.Set("filter", `{"room":{"timeline":{"limit":1}}}`)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	answer, err := b.do(ctx, http.MethodGet, "/_matrix/client/v3/sync", q, nil)
	if err != nil {
		return nil, fmt.Errorf("matrix: sync: %w", err)
	}
	return answer, nil
}

// do sends one request and returns the answer of a 2xx. Errors are
// classified: 429 (waiting retry_after_ms or Retry-After), 5xx and network
// failures are Retryable; other codes are permanent, with the homeserver's
// errcode and its message scrubbed of credentials.
func (b *Bot) do(ctx context.Context, method, path string, q url.Values, body []byte) ([]byte, error) {
	u := *b.base
	u.RawPath = b.base.EscapedPath() + path
	u.Path, _ = url.PathUnescape(u.RawPath)
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+b.o.AccessToken.Reveal())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, b.netError(ctx, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, b.netError(ctx, err)
	}
	if resp.StatusCode/100 == 2 {
		return answer, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	err = status.ClassifyResponse(resp)
	var me matrixError
	var re *status.ResponseError
	if json.Unmarshal(answer, &me) == nil && me.ErrCode != "" && errors.As(err, &re) {
		re.Body = status.ReplyText([]byte(me.ErrCode+": "+me.Error), b.o.AccessToken.Reveal())
		if resp.StatusCode == http.StatusTooManyRequests && me.RetryAfterMS > 0 {
			err = status.Retryable(re, time.Duration(me.RetryAfterMS)*time.Millisecond)
		}
	}
	return nil, err
}

// netError classifies a failed round trip. Cancellation is permanent; an
// attempt's deadline and network failures are Retryable. The request's URL
// carries no secret, so the error may name it.
func (b *Bot) netError(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	return status.ClassifyNetError(err)
}
