package irc_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/irc"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A bot that announces failures and fixed builds on #builds, answers
// queries from the host's history, and lets people force builds.
func ExampleNew() {
	hist := statustest.NewHistory() // a host passes its store.Memory or database here
	bot, err := irc.New(irc.Options{
		Host:         "irc.example.org",
		UseTLS:       true,
		Nick:         "herald",
		SASL:         &irc.SASL{User: "herald", Password: status.Secret("from-the-vault")},
		Channels:     []irc.Channel{{Name: "#builds"}, {Name: "#release", Key: status.Secret("sesame")}},
		NotifyEvents: []string{"failure", "exception", "failureToSuccess"},
		History:      hist,
		Control:      &statustest.Control{},
		AllowForce:   true,
		Authz:        func(c chat.Command) bool { return strings.HasSuffix(c.Account, "@trusted.example.org") },
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(bot) // no secrets in there

	hub := status.NewHub(status.HubOptions{})
	hub.Add(bot) // the Hub closes the bot at Shutdown
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(hub.Shutdown(ctx))
	// Output:
	// irc.Bot(herald on irc.example.org:6697)
	// <nil>
}

// Options are checked before anything connects, and errors say what to do.
func ExampleNew_invalidOptions() {
	_, err := irc.New(irc.Options{Host: "irc.example.org", Nick: "herald", AllowForce: true, NotifyEvents: []string{"brokenToFixed"}})
	fmt.Println(err)
	// Output:
	// irc: Options.NotifyEvents: unknown event "brokenToFixed": events are started, finished, success, warnings, failure, exception, or xToY with x and Y among success, warnings, failure, exception (Y capitalised: successToFailure)
	// irc: Options.AllowForce needs Options.Control: set the host's status.Control
}
