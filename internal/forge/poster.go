package forge

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/heraldci/herald/status"
)

// Poster sends JSON to a forge's REST API over net/http: the request path
// of the targets that need no client library (gitea, bitbucket, stash). It
// sets the Authorization header, turns failures into an *Error with the
// forge's scrubbed reply and the classification of Refused and
// Unreachable, and keeps the credentials out of reach of fmt. Safe for
// concurrent use.
type Poster struct {
	client  *http.Client
	own     *http.Transport // the transport NewPoster made, nil when the host gave a client
	agent   string
	auth    string   // the Authorization header, "" when the client authenticates
	secrets []string // what the credentials look like on the wire, for scrubbing replies
	hints   Hints
	closed  atomic.Bool
}

// NewPoster returns a Poster sending with c, or with a client of its own
// when c is nil. agent is the User-Agent; hints end the errors of
// refusals.
func NewPoster(c *http.Client, agent string, hints Hints) *Poster {
	p := &Poster{client: c, agent: agent, hints: hints}
	if c == nil {
		p.own = http.DefaultTransport.(*http.Transport).Clone()
		p.client = &http.Client{Transport: p.own}
	}
	return p
}

// Basic authenticates with HTTP Basic.
func (p *Poster) Basic(user, password string) {
	enc := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	p.auth, p.secrets = "Basic "+enc, []string{password, enc}
}

// Token authenticates with "scheme token" ("Bearer", or Gitea's "token").
func (p *Poster) Token(scheme, token string) {
	p.auth, p.secrets = scheme+" "+token, []string{token}
}

// Close releases the connections of the Poster's own client; Closed
// reports it afterwards.
func (p *Poster) Close() {
	p.closed.Store(true)
	if p.own != nil {
		p.own.CloseIdleConnections()
	}
}

// Closed reports whether Close was called.
func (p *Poster) Closed() bool { return p.closed.Load() }

// Post sends v as JSON to u. A failure fills in e (StatusCode, Message,
// Hint, Err) and returns it, Retryable for rate limits, server and network
// errors; cancellation stays cancellation.
func (p *Poster) Post(ctx context.Context, u string, v any, e *Error) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Forge, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", e.Forge, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", p.agent)
	if p.auth != "" {
		req.Header.Set("Authorization", p.auth)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		msg, cls := Unreachable(err)
		e.Err, e.Message = err, status.ReplyText([]byte(msg), p.secrets...)
		return Classified(e, cls)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) // keep the connection
		return nil
	}
	msg, cls := Refused(resp, p.secrets...)
	e.StatusCode, e.Message, e.Hint, e.Err = resp.StatusCode, msg, p.hints[resp.StatusCode], cls
	return Classified(e, cls)
}
