package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/heraldci/herald/matrix"
	"github.com/heraldci/herald/status"
)

// matrixTarget is the Matrix bot: it announces the simulated builds in a
// room and answers commands there, reading the demo's store and forcing
// builds on the simulated master.
type matrixTarget struct {
	homeserver, user, tokenFile, room, notify string
	force                                     bool
}

func (t *matrixTarget) Flags(fs *flag.FlagSet) {
	fs.StringVar(&t.homeserver, "matrix", "", "Matrix homeserver URL to put the bot on (enables Matrix; needs -matrix-user, -matrix-token-file, -matrix-room)")
	fs.StringVar(&t.user, "matrix-user", "", "the bot's Matrix user ID (@herald:example.org)")
	fs.StringVar(&t.tokenFile, "matrix-token-file", "", "file holding the bot account's access token")
	fs.StringVar(&t.room, "matrix-room", "", "room ID (!abc:example.org) the bot is in and announces to")
	fs.StringVar(&t.notify, "matrix-notify", "failure,exception,failureToSuccess", "comma-separated notify events announced in the room")
	fs.BoolVar(&t.force, "matrix-allow-force", false, "let people in the room force and stop builds")
}

func (t *matrixTarget) Start(_ context.Context, d *demo) error {
	if t.homeserver == "" {
		return nil
	}
	if t.tokenFile == "" {
		return errors.New("-matrix needs -matrix-token-file")
	}
	token, err := os.ReadFile(t.tokenFile)
	if err != nil {
		return fmt.Errorf("-matrix-token-file: %w", err)
	}
	var events []string
	for _, e := range strings.Split(t.notify, ",") {
		if e = strings.TrimSpace(e); e != "" {
			events = append(events, e)
		}
	}
	bot, err := matrix.New(matrix.Options{
		Homeserver: t.homeserver, UserID: t.user, AccessToken: status.Secret(strings.TrimSpace(string(token))),
		Rooms: []string{t.room}, NotifyEvents: events,
		History: d.store, Control: d.control, AllowForce: t.force,
		Logger: d.log,
	})
	if err != nil {
		return err
	}
	d.hub.Add(bot, status.WithName("matrix"))
	d.where("matrix: %s in %s on %s (say \"!help commands\")", t.user, t.room, t.homeserver)
	return nil
}
