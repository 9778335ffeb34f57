package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/telegram"
	"github.com/heraldci/herald/telegram/telegramtest"
)

// telegramTarget is the Telegram bot: it announces the simulated builds in
// a chat and answers commands, on the Bot API or on an in-process stand-in
// of it (-telegram-api local).
type telegramTarget struct {
	api, tokenFile, chat, notify string
	force                        bool
}

func (t *telegramTarget) Flags(fs *flag.FlagSet) {
	fs.StringVar(&t.api, "telegram-api", "", `Bot API server for a Telegram bot (https://api.telegram.org), or "local" for an in-process API double`)
	fs.StringVar(&t.tokenFile, "telegram-token-file", "", "file holding the bot token BotFather gave")
	fs.StringVar(&t.chat, "telegram-chat", "", `chat ID (or @channel) the bot announces in (default with local: "-1001")`)
	fs.StringVar(&t.notify, "telegram-notify", "failure,exception,failureToSuccess", "comma-separated notify events announced in the chat")
	fs.BoolVar(&t.force, "telegram-allow-force", false, "let people force and stop builds (/force BUILDER REASON)")
}

func (t *telegramTarget) Start(_ context.Context, d *demo) error {
	o := telegram.Options{APIURL: t.api, History: d.store, Control: d.control, AllowForce: t.force, Logger: d.log}
	switch {
	case t.api == "" && (t.tokenFile != "" || t.chat != ""):
		return errors.New("-telegram-token-file and -telegram-chat need -telegram-api")
	case t.api == "":
		return nil
	case t.api == "local":
		double := telegramtest.New(telegramtest.Options{Token: "123456:demo-token"})
		url, err := startAPIDouble(d, "telegram", double, func() []string {
			return requestLines(double.Requests(), func(r telegramtest.Request) (string, string, int, []byte) {
				return "POST", "/bot<token>/" + r.Method, r.Code, r.Body
			})
		}, double.Problems)
		if err != nil {
			return err
		}
		o.APIURL, o.Token = url, "123456:demo-token"
		if t.chat == "" {
			t.chat = "-1001"
		}
		d.where("telegram: announcements to a local Bot API double, listed at %s/", url)
	case t.tokenFile == "" || t.chat == "":
		return errors.New("-telegram-api needs -telegram-token-file and -telegram-chat (or use local)")
	default:
		b, err := os.ReadFile(t.tokenFile)
		if err != nil {
			return fmt.Errorf("-telegram-token-file: %w", err)
		}
		o.Token = status.Secret(strings.TrimSpace(string(b)))
		d.where("telegram: announcing in chat %s via %s (say /help to the bot)", t.chat, t.api)
	}
	o.Chats = []string{t.chat}
	for _, e := range strings.Split(t.notify, ",") {
		if e = strings.TrimSpace(e); e != "" {
			o.NotifyEvents = append(o.NotifyEvents, e)
		}
	}
	bot, err := telegram.New(o)
	if err != nil {
		return err
	}
	d.hub.Add(bot)
	return nil
}
