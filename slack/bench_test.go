package slack_test

import (
	"testing"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/slack"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// BenchmarkHub1000Builds: 1,000 builds start and finish through a Hub to
// the Web API double; every start and finish is posted to one channel.
func BenchmarkHub1000Builds(b *testing.B) {
	api := newAPIDouble(b)
	bot, err := slack.New(slack.Options{Token: testToken, Channels: []string{"C0BUILDS"}, APIURL: api.url(),
		NotifyEvents: []string{"started", "finished"}, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	testkit.HubBuilds(b, bot, func(iter, i int) *status.Build {
		return statustest.NewBuild("linux").Number(iter*1000 + i + 1).Succeeded().Build()
	}, api.Wait)
}
