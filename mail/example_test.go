package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	netmail "net/mail"
	"strings"

	"github.com/heraldci/herald/mail"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A notifier mailing the authors of a failing build, with the team list in
// Cc. A Sender stands in for the SMTP server here; in production leave
// Sender nil and set RelayHost, Port, UseTLS, Username and Password.
func Example() {
	history := statustest.NewHistory()
	n, err := mail.New(mail.Options{
		From:            "Herald <ci@example.org>",
		Domain:          "example.org",
		ExtraRecipients: []string{"team@example.org"},
		Mode:            mail.Problem | mail.Fixed | mail.Exception,
		History:         history,
		Logger:          slog.New(slog.DiscardHandler),
		Sender: mail.SenderFunc(func(_ context.Context, env *mail.Envelope) error {
			fmt.Println("to:", strings.Join(env.To, ", "))
			fmt.Println("subject:", env.Message.Subject)
			return nil
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for _, b := range []*status.Build{
		statustest.NewBuild("linux").Number(1).Succeeded().Build(),
		statustest.NewBuild("linux").Number(2).Blame("alice").Failed().Build(),
		statustest.NewBuild("linux").Number(3).Blame("bob").Failed().Build(), // still failing: no mail in these modes
		statustest.NewBuild("linux").Number(4).Blame("carol").Succeeded().Build(),
	} {
		history.AddBuild(b)
		if err := n.Report(ctx, status.Event{Kind: status.BuildFinished, Build: b}); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// to: alice@example.org, team@example.org
	// subject: Herald failure: linux #2 on main
	// to: carol@example.org, team@example.org
	// subject: Herald success: linux #4 on main
}

// Render previews a mail without sending it, e.g. to test a formatter.
func ExampleRender() {
	b := statustest.NewBuild("linux").Number(7).Blame("alice").Failed().Build()
	raw, err := mail.Render(context.Background(), b, mail.Options{
		From:   "ci@example.org",
		Domain: "example.org",
		MessageFormatter: mail.FormatFunc(func(_ context.Context, in *mail.FormatInput) (*mail.Content, error) {
			return &mail.Content{Text: "STATUS: " + in.ResultString() + "\n"}, nil
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		log.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(msg.Body)
	fmt.Println(msg.Header.Get("To"))
	fmt.Println(msg.Header.Get("Subject"))
	fmt.Print(body.String())
	// Output:
	// <alice@example.org>
	// Herald failure: linux #7 on main
	// STATUS: failure
}
