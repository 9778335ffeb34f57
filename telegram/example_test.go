package telegram_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/telegram"
)

// A bot that announces failures and fixed builds in a group, answers
// queries from the host's history, and lets two people force builds.
func ExampleNew() {
	trusted := []string{"123456789", "987654321"} // Telegram user IDs
	bot, err := telegram.New(telegram.Options{
		Token:        status.Secret("123456:from-the-vault"),
		Chats:        []string{"-1001234567890"},
		NotifyEvents: []string{"failure", "exception", "failureToSuccess"},
		History:      statustest.NewHistory(), // a host passes its store.Memory or database here
		Control:      &statustest.Control{},
		AllowForce:   true,
		Authz: func(c chat.Command) bool {
			return c.Name != "force" && c.Name != "stop" || slices.Contains(trusted, c.Account)
		},
		NoCommands: true, // this example does not poll api.telegram.org; a real bot leaves it false
		Logger:     slog.New(slog.DiscardHandler),
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
	// telegram.Bot(https://api.telegram.org)
	// <nil>
}

// Options are checked before anything is sent, and errors say what to do.
func ExampleNew_invalidOptions() {
	_, err := telegram.New(telegram.Options{Chats: []string{"#builds"}, NotifyEvents: []string{"brokenToFixed"}})
	fmt.Println(err)
	// Output:
	// telegram: Options.Token is empty: set the bot token BotFather gave
	// telegram: Options.Chats: "#builds" is not a chat ID or @channelusername
	// telegram: Options.NotifyEvents: unknown event "brokenToFixed": events are started, finished, success, warnings, failure, exception, or xToY with x and Y among success, warnings, failure, exception (Y capitalised: successToFailure)
}
