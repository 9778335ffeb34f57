package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/heraldci/herald/mail"
	"github.com/heraldci/herald/status"
)

// mailTarget mails about finished builds when -smtp is set, e.g. to a
// mailpit on localhost:
//
//	mailpit --smtp 127.0.0.1:1025 --listen 127.0.0.1:8025 &
//	go run ./examples/demo -smtp 127.0.0.1:1025 -mail-to team@example.org
type mailTarget struct {
	smtp, to, from, mode string
	authors              bool
}

func (m *mailTarget) Flags(fs *flag.FlagSet) {
	fs.StringVar(&m.smtp, "smtp", "", "mail finished builds through this SMTP server, host:port (empty: no mail)")
	fs.StringVar(&m.to, "mail-to", "", "comma-separated addresses that get every mail (with -smtp)")
	fs.StringVar(&m.from, "mail-from", "Herald demo <herald@localhost>", "sender of the mails")
	fs.StringVar(&m.mode, "mail-mode", "failing,passing,warnings", "which builds to mail about: all, or a combination of change, failing, passing, problem, warnings, exception, fixed, first-failure, still-failing")
	fs.BoolVar(&m.authors, "mail-authors", false, "also mail the authors of the changes (their addresses are made up by the simulation)")
}

func (m *mailTarget) Start(_ context.Context, d *demo) error {
	if m.smtp == "" {
		return nil
	}
	host, portStr, err := net.SplitHostPort(m.smtp)
	if err != nil {
		return fmt.Errorf("-smtp %q: want host:port: %w", m.smtp, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("-smtp %q: bad port", m.smtp)
	}
	var to []string
	for _, a := range strings.Split(m.to, ",") {
		if a = strings.TrimSpace(a); a != "" {
			to = append(to, a)
		}
	}
	if len(to) == 0 && !m.authors {
		return errors.New("-smtp needs -mail-to (or -mail-authors): nobody to mail")
	}
	mode, err := mail.ParseMode(m.mode)
	if err != nil {
		return err
	}
	n, err := mail.New(mail.Options{
		From: m.from, ExtraRecipients: to, SkipInterestedUsers: !m.authors,
		Mode: mode, RelayHost: host, Port: port, History: d.store,
		Title: "Herald demo", BuildbotURL: d.url, AddLogs: true, LogNames: []string{"stdio"},
		Logger: d.log,
	})
	if err != nil {
		return err
	}
	d.hub.Add(status.Filter(n, status.Kinds(status.BuildFinished)))
	d.where("mail: %v builds through %s to %s", mode, m.smtp, strings.Join(to, ", "))
	return nil
}
