package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/heraldci/herald/slack"
	"github.com/heraldci/herald/status"
)

// slackTarget is the Slack bot: announcements through the Web API (or an
// in-process stand-in of chat.postMessage, -slack-api local), and slash
// commands at /slack/commands when a signing secret is given.
type slackTarget struct {
	api, tokenFile, channel, signingFile, notify string
	force                                        bool
}

func (t *slackTarget) Flags(fs *flag.FlagSet) {
	fs.StringVar(&t.api, "slack-api", "", `Slack Web API URL (https://slack.com/api/), or "local" for an in-process chat.postMessage double`)
	fs.StringVar(&t.tokenFile, "slack-token-file", "", "file holding the Slack bot token (xoxb-…, chat:write)")
	fs.StringVar(&t.channel, "slack-channel", "C0BUILDS", "channel ID the bot announces in")
	fs.StringVar(&t.signingFile, "slack-signing-secret-file", "", "file holding the Slack app's signing secret: enables slash commands at /slack/commands")
	fs.StringVar(&t.notify, "slack-notify", "failure,exception,failureToSuccess", "comma-separated notify events announced in the channel")
	fs.BoolVar(&t.force, "slack-allow-force", false, "let slash commands force and stop builds")
}

func (t *slackTarget) Start(_ context.Context, d *demo) error {
	o := slack.Options{Channels: []string{t.channel}, History: d.store, Control: d.control, AllowForce: t.force, Logger: d.log}
	for _, e := range strings.Split(t.notify, ",") {
		if e = strings.TrimSpace(e); e != "" {
			o.NotifyEvents = append(o.NotifyEvents, e)
		}
	}
	switch {
	case t.api == "":
		if t.tokenFile != "" || t.signingFile != "" {
			return errors.New("-slack-token-file and -slack-signing-secret-file need -slack-api")
		}
		return nil
	case t.api == "local":
		double := &slackDouble{}
		u, err := startAPIDouble(d, "slack", double, double.list, func() []string { return nil })
		if err != nil {
			return err
		}
		o.APIURL, o.Token = u+"/api/", "xoxb-demo-token"
		d.where("slack: announcements to a local chat.postMessage double, listed at %s/", u)
	case t.tokenFile == "":
		return errors.New("-slack-api needs -slack-token-file (or use local)")
	default:
		b, err := os.ReadFile(t.tokenFile)
		if err != nil {
			return fmt.Errorf("-slack-token-file: %w", err)
		}
		o.APIURL, o.Token = t.api, status.Secret(strings.TrimSpace(string(b)))
		d.where("slack: announcements in %s through %s", t.channel, t.api)
	}
	if t.signingFile != "" {
		if d.url == "" {
			return errors.New("-slack-signing-secret-file needs the demo's HTTP server (-addr)")
		}
		b, err := os.ReadFile(t.signingFile)
		if err != nil {
			return fmt.Errorf("-slack-signing-secret-file: %w", err)
		}
		o.SigningSecret = status.Secret(strings.TrimSpace(string(b)))
	}
	bot, err := slack.New(o)
	if err != nil {
		return err
	}
	d.hub.Add(bot)
	if !o.SigningSecret.IsZero() {
		d.handle("POST /slack/commands", bot)
		d.where("slack: slash commands at %s/slack/commands", d.url)
	}
	return nil
}

// slackDouble accepts chat.postMessage with the demo's token and keeps
// what was posted.
type slackDouble struct {
	mu    sync.Mutex
	lines []string
}

func (s *slackDouble) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/api/chat.postMessage" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"ok":false,"error":"unknown_method"}`))
		return
	}
	if r.Header.Get("Authorization") != "Bearer xoxb-demo-token" {
		_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("channel") == "" {
		_, _ = w.Write([]byte(`{"ok":false,"error":"channel_not_found"}`))
		return
	}
	s.mu.Lock()
	s.lines = append(s.lines, "chat.postMessage "+url.Values{"channel": {r.PostForm.Get("channel")}, "text": {r.PostForm.Get("text")}}.Encode())
	s.mu.Unlock()
	_, _ = w.Write([]byte(`{"ok":true,"ts":"1.0"}`))
}

func (s *slackDouble) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}
