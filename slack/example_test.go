package slack_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/heraldci/herald/chat"
	"github.com/heraldci/herald/slack"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A bot that announces failures and fixed builds in #builds, and answers
// "/herald …" slash commands; only release managers may force builds.
func ExampleNew() {
	releaseManagers := []string{"U0ALICE", "U0BOB"}
	bot, err := slack.New(slack.Options{
		Token:         status.Secret("xoxb-from-the-vault"),
		Channels:      []string{"C0BUILDS"},
		SigningSecret: status.Secret("from-the-app-settings"),
		NotifyEvents:  []string{"failure", "exception", "failureToSuccess"},
		History:       statustest.NewHistory(), // a host passes its store.Memory or database
		Control:       &statustest.Control{},
		AllowForce:    true,
		Authz: func(c chat.Command) bool {
			return c.Name != "force" || slices.Contains(releaseManagers, c.Account)
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(bot) // no secrets in there

	mux := http.NewServeMux()
	mux.Handle("POST /slack/commands", bot) // the slash command's Request URL

	hub := status.NewHub(status.HubOptions{})
	hub.Add(bot) // the Hub closes the bot at Shutdown
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(hub.Shutdown(ctx))
	// Output:
	// slack.Bot(web API https://slack.com/api/, channels C0BUILDS)
	// <nil>
}

// With an incoming webhook, announcements go to the webhook's channel.
func ExampleNew_webhook() {
	_, err := slack.New(slack.Options{
		WebhookURL: status.Secret("https://hooks.slack.com/services/T000/B000/XXXX"),
		Channels:   []string{"C0BUILDS"},
	})
	fmt.Println(err)
	// Output:
	// slack: Options.Channels needs Options.Token: an incoming webhook posts to the one channel it was made for
}
