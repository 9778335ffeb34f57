package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/heraldci/herald/chat"
)

// maxCommandBody bounds a slash command request; Slack's are a few
// hundred bytes.
const maxCommandBody = 64 << 10

// commandTimeout bounds one command: Slack shows "operation_timeout" when
// the answer takes more than 3 seconds.
const commandTimeout = 3 * time.Second

// ServeHTTP answers a slash command ("/herald status linux") as Slack
// sends it: a form POST signed with the app's signing secret. A request
// without a valid signature (X-Slack-Signature, v0 HMAC-SHA256), or whose
// X-Slack-Request-Timestamp is more than 5 minutes off, gets 401. The
// command runs through the chat engine with Command.Account the Slack
// user ID and Command.Room the channel ID; the answer is the response
// (visible to the asker alone unless Options.InChannel). With an incoming
// webhook the later announcements of a command (watch, force) go to the
// webhook's channel. Without Options.SigningSecret every request gets 404.
func (b *Bot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.o.SigningSecret.IsZero() {
		http.Error(w, "slack: slash commands are not enabled (no signing secret)", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "slack: slash commands are POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCommandBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "slack: request body over 64 KiB", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "slack: reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if why := b.verify(r.Header, body); why != "" {
		b.log.Warn("slack: refused a slash command", "why", why, "remote", r.RemoteAddr)
		http.Error(w, "slack: "+why, http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "slack: the body is not a form: "+err.Error(), http.StatusBadRequest)
		return
	}
	user, channel := form.Get("user_id"), form.Get("channel_id")
	if user == "" || channel == "" {
		http.Error(w, "slack: user_id and channel_id are required", http.StatusBadRequest)
		return
	}
	name := form.Get("user_name")
	if name == "" {
		name = user
	}
	req := chat.Request{
		Command: chat.Command{Sender: name, Account: user, Room: channel},
		To:      channel,
		Who:     "Slack user " + name + " (" + user + ") in " + channel,
	}
	if b.api == nil {
		req.To = webhookContact
	}
	p, release, ok := b.begin(r.Context(), req.To)
	if !ok {
		http.Error(w, "slack: the bot is closed or the request ended", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), commandTimeout)
	defer cancel()
	stop := context.AfterFunc(b.ctx, cancel) // Close ends running commands
	defer stop()
	b.engine.Execute(ctx, req, form.Get("text"))
	// Announcements the command made (a forced build already running) go
	// out before the answer, within the same time.
	if err := b.postAll(ctx, p.posts); err != nil {
		b.log.Warn("slack: announcing after a command failed", "err", err)
	}
	release()

	kind := slackapi.ResponseTypeEphemeral
	if b.o.InChannel {
		kind = slackapi.ResponseTypeInChannel
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&slackapi.Msg{ResponseType: kind, Text: escape(plainText(strings.Join(p.answers, "\n")))})
}

// verify checks Slack's signature with slack-go's verifier; it returns why
// the request is refused, or "". The verifier's own error is not shown: it
// names the signature the body should have had.
func (b *Bot) verify(h http.Header, body []byte) string {
	v, err := slackapi.NewSecretsVerifier(h, b.o.SigningSecret.Reveal())
	switch {
	case errors.Is(err, slackapi.ErrExpiredTimestamp):
		return "stale request: X-Slack-Request-Timestamp is more than 5 minutes off"
	case errors.Is(err, slackapi.ErrMissingHeaders):
		return "missing X-Slack-Signature or X-Slack-Request-Timestamp"
	case err != nil:
		return "malformed X-Slack-Signature or X-Slack-Request-Timestamp"
	}
	if _, err := v.Write(body); err != nil {
		return "invalid signature"
	}
	if v.Ensure() != nil {
		return "invalid signature"
	}
	return ""
}

// begin registers a command running for to, waiting for one already
// running there (their answers would mix); ok is false when the bot is
// closed or ctx ends first. release unregisters it.
func (b *Bot) begin(ctx context.Context, to string) (p *pending, release func(), ok bool) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, nil, false
		}
		cur := b.replies[to]
		if cur == nil {
			p = &pending{done: make(chan struct{})}
			b.replies[to] = p
			b.commands.Add(1)
			b.mu.Unlock()
			return p, func() {
				b.mu.Lock()
				delete(b.replies, to)
				b.mu.Unlock()
				close(p.done)
				b.commands.Done()
			}, true
		}
		b.mu.Unlock()
		select {
		case <-cur.done:
		case <-ctx.Done():
			return nil, nil, false
		case <-b.ctx.Done():
			return nil, nil, false
		}
	}
}
