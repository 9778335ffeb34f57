package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/heraldci/herald/irc"
	"github.com/heraldci/herald/status"
)

// ircTarget is the IRC bot: it announces the simulated builds on a channel
// and answers commands there, reading the demo's store and forcing builds
// on the simulated master.
type ircTarget struct {
	server, channel, nick, notify string
	tls, force                    bool
}

func (t *ircTarget) Flags(fs *flag.FlagSet) {
	fs.StringVar(&t.server, "irc", "", "IRC server HOST:PORT to put the bot on (enables IRC)")
	fs.StringVar(&t.channel, "irc-channel", "#builds", "channel the bot joins and announces on")
	fs.StringVar(&t.nick, "irc-nick", "herald", "the bot's nick (stock ngircd allows 9 characters)")
	fs.StringVar(&t.notify, "irc-notify", "failure,exception,failureToSuccess",
		"comma-separated notify events announced on the channel (started,finished for everything; IRC flood control sends a line every 2s)")
	fs.BoolVar(&t.tls, "irc-tls", false, "connect with TLS")
	fs.BoolVar(&t.force, "irc-allow-force", false, "let people on the channel force and stop builds")
}

func (t *ircTarget) Start(_ context.Context, d *demo) error {
	if t.server == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(t.server)
	if err != nil {
		return fmt.Errorf("-irc %q: want HOST:PORT, e.g. irc.libera.chat:6697 or 127.0.0.1:6667", t.server)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("-irc %q: bad port", t.server)
	}
	var events []string
	for _, e := range strings.Split(t.notify, ",") {
		if e = strings.TrimSpace(e); e != "" {
			events = append(events, e)
		}
	}
	bot, err := irc.New(irc.Options{
		Host: host, Port: p, UseTLS: t.tls, Nick: t.nick,
		Channels:     []irc.Channel{{Name: t.channel}},
		NotifyEvents: events,
		History:      d.store,
		Control:      d.control,
		AllowForce:   t.force,
		Logger:       d.log,
	})
	if err != nil {
		return err
	}
	d.hub.Add(status.Filter(bot, status.Kinds(status.BuildStarted, status.BuildFinished)), status.WithName("irc"))
	d.where("irc: %s on %s at %s (say \"%s: help commands\")", t.nick, t.channel, t.server, t.nick)
	return nil
}
