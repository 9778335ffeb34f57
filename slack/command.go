package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/status"
)

// maxCommandBody bounds a slash command request; Slack's are a few
// hundred bytes.
const maxCommandBody = 64 << 10

// commandTimeout bounds one command: its History and Control calls and
// what it announces.
const commandTimeout = 30 * time.Second

// answerWithin is how long a response waits for the command's answers:
// Slack shows "operation_timeout" when it takes more than 3 seconds.
const answerWithin = 2500 * time.Millisecond

// workingOnIt is the response of a command that outlasts answerWithin.
const workingOnIt = "Working on it…"

// ServeHTTP answers a slash command ("/herald status linux") as Slack
// sends it: a form POST signed with the app's signing secret. A request
// without a valid signature (X-Slack-Signature, v0 HMAC-SHA256), or whose
// X-Slack-Request-Timestamp is more than 5 minutes off, gets 401. The
// command runs through the chat engine with Command.Account the Slack
// user ID and Command.Room the channel ID. Its answers are the response
// (visible to the asker alone unless Options.InChannel) when it ends
// within 2.5 seconds; a slower one (a slow History or Control) is answered
// at once with an ephemeral "Working on it…", and its answers are POSTed
// to the request's response_url when it ends (Slack takes them there for
// 30 minutes). A command runs for 30 seconds at most. With an incoming
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
	user, channel, later := form.Get("user_id"), form.Get("channel_id"), form.Get("response_url")
	if user == "" || channel == "" || !isHTTPURL(later) {
		http.Error(w, "slack: user_id, channel_id and an http(s) response_url are required", http.StatusBadRequest)
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
	kind := slackapi.ResponseTypeEphemeral
	if b.o.InChannel {
		kind = slackapi.ResponseTypeInChannel
	}
	rep := &reply{ended: make(chan struct{})}
	if !b.start() {
		http.Error(w, "slack: the bot is closed", http.StatusServiceUnavailable)
		return
	}
	go b.run(req, form.Get("text"), rep, later, kind)

	t := time.NewTimer(b.answerWithin)
	defer t.Stop()
	select {
	case <-rep.ended:
	case <-t.C:
	case <-r.Context().Done():
	}
	text, now := rep.respond()
	if !now {
		text, kind = workingOnIt, slackapi.ResponseTypeEphemeral
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&slackapi.Msg{ResponseType: kind, Text: escape(plainText(text))})
}

// start counts a command in, unless the bot is closed.
func (b *Bot) start() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.commands.Add(1)
	return true
}

// run runs a command counted in by start. When its response went out
// without the answers, they are POSTed to responseURL.
func (b *Bot) run(req chat.Request, text string, rep *reply, responseURL, kind string) {
	defer b.commands.Done()
	ctx, cancel := context.WithTimeout(b.ctx, commandTimeout)
	defer cancel()
	b.engine.Execute(context.WithValue(ctx, replyKey{}, rep), req, text)
	answer, late := rep.end()
	if !late || answer == "" {
		return
	}
	ctx, cancel = context.WithTimeout(b.ctx, commandTimeout)
	defer cancel()
	err := slackapi.PostWebhookCustomHTTPContext(ctx, responseURL, b.client,
		&slackapi.WebhookMessage{ResponseType: kind, Text: escape(plainText(answer))})
	if err != nil {
		// The response_url lets anyone answer in the channel: it stays out of the log.
		b.log.Warn("slack: a late answer to a command was not delivered", "command", req.Name, "sender", req.Sender,
			"err", status.ReplyText([]byte(err.Error()), append(b.secrets, responseURL)...))
	}
}

// replyKey is the context key of a slash command's reply.
type replyKey struct{}

// reply collects the answers of a slash command, for its response or, when
// the command outlasts that, its response_url.
type reply struct {
	ended chan struct{} // closed when the command has ended

	mu      sync.Mutex
	answers []string
	done    bool // the command has ended
	late    bool // the response went out without the answers
}

func (r *reply) add(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers = append(r.answers, text)
}

// respond returns the answers for the response if the command has ended;
// if not, they are left for the response_url.
func (r *reply) respond() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.done {
		r.late = true
		return "", false
	}
	return strings.Join(r.answers, "\n"), true
}

// end marks the command ended and returns its answers, and whether they
// go to the response_url.
func (r *reply) end() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	close(r.ended)
	return strings.Join(r.answers, "\n"), r.late
}

// isHTTPURL reports whether s is an absolute http(s) URL.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
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
