package matrix_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/matrix"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A bot that announces failures and fixed builds in a room, answers
// "herald: status" from the host's history, and lets the team's accounts
// force builds.
func ExampleNew() {
	bot, err := matrix.New(matrix.Options{
		Homeserver:   "https://matrix.example.org",
		UserID:       "@herald:example.org",
		AccessToken:  status.Secret("syt_from_the_vault"),
		Rooms:        []string{"!builds:example.org"},
		NotifyEvents: []string{"failure", "exception", "failureToSuccess"},
		History:      statustest.NewHistory(), // a host passes its store.Memory here
		Control:      &statustest.Control{},
		AllowForce:   true,
		Authz:        func(c chat.Command) bool { return strings.HasSuffix(c.Account, ":example.org") },
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(bot) // no token in there

	hub := status.NewHub(status.HubOptions{})
	hub.Add(bot) // the Hub closes the bot at Shutdown
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(hub.Shutdown(ctx))
	// Output:
	// matrix.Bot(@herald:example.org on https://matrix.example.org)
	// <nil>
}

// Options are checked before anything connects, all at once.
func ExampleNew_invalidOptions() {
	_, err := matrix.New(matrix.Options{Homeserver: "https://matrix.example.org", UserID: "herald",
		Rooms: []string{"#builds:example.org"}})
	fmt.Println(err)
	// Output:
	// matrix: Options.UserID "herald" is not a Matrix user ID: use @localpart:server
	// matrix: Options.AccessToken is empty: set the bot account's access token
	// matrix: Options.Rooms: "#builds:example.org" is not a room ID: use !opaque:server (a room alias #name:server must be resolved first)
}
