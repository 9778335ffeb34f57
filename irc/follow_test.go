package irc

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// forcedBuild is build number of builder serving build set setID, as the
// host runs it: started, then finished failed.
func forcedBuild(builder string, number int, setID string) (started, finished status.Event) {
	for _, e := range statustest.NewBuild(builder).Number(number).URL("https://ci.example.org/b/"+builder).
		BuildSet(setID).Step("test", status.Failure).Failed().Events() {
		switch e.Kind {
		case status.BuildStarted:
			started = e
		case status.BuildFinished:
			finished = e
		}
	}
	return started, finished
}

func TestForceBuildIsFollowed(t *testing.T) {
	ctx := context.Background()
	hist := statustest.NewHistory(statustest.NewBuild("linux").Number(7).Build())
	ctl := &statustest.Control{} // requests bs1, bs2...
	b := offlineBot(t, Options{NoColors: true, AllowForce: true, Control: ctl, History: hist})

	assert.Equal(t, []string{"PRIVMSG #ops :alice: build of linux queued; I'll give a shout when it starts"},
		run(b, "alice", "#ops", "force build linux please"))

	// Another build of linux (not the forced one) is not announced.
	other, otherDone := forcedBuild("linux", 8, "bs-webhook")
	require.NoError(t, b.Report(ctx, other))
	require.NoError(t, b.Report(ctx, otherDone))
	assert.Empty(t, drain(b))

	started, done := forcedBuild("linux", 9, "bs1")
	require.NoError(t, b.Report(ctx, started))
	assert.Equal(t, []string{"PRIVMSG #ops :alice: build #9 of linux forced; I'll give a shout when it finishes"}, drain(b))
	require.NoError(t, b.Report(ctx, done))
	assert.Equal(t, []string{
		"PRIVMSG #ops :alice: Hey! build linux #9 is complete: Failure [failed test]",
		"PRIVMSG #ops :alice: Build details are at https://ci.example.org/b/linux",
	}, drain(b))

	// In private, the answers come in private, unaddressed; and a build
	// that started before the force command got its answer is still
	// followed.
	started, done = forcedBuild("linux", 10, "bs2")
	require.NoError(t, b.Report(ctx, started))
	assert.Equal(t, []string{"PRIVMSG bob :build #10 of linux forced; I'll give a shout when it finishes"},
		run(b, "bob", "", "force build linux"))
	require.NoError(t, b.Report(ctx, done))
	assert.Equal(t, []string{
		"PRIVMSG bob :Hey! build linux #10 is complete: Failure [failed test]",
		"PRIVMSG bob :Build details are at https://ci.example.org/b/linux",
	}, drain(b))

	// Started and finished before the answer: all of it at once.
	started, done = forcedBuild("linux", 11, "bs3")
	require.NoError(t, b.Report(ctx, started))
	require.NoError(t, b.Report(ctx, done))
	assert.Equal(t, []string{
		"PRIVMSG #ops :carol: build #11 of linux forced; I'll give a shout when it finishes",
		"PRIVMSG #ops :carol: Hey! build linux #11 is complete: Failure [failed test]",
		"PRIVMSG #ops :carol: Build details are at https://ci.example.org/b/linux",
	}, run(b, "carol", "#ops", "force build linux"))
}

// A host that cannot say which request it queued gets the old answer.
type blindControl struct{ status.UnsupportedControl }

func (blindControl) ForceBuild(context.Context, status.ForceRequest) (*status.BuildRequest, error) {
	return nil, nil
}

func TestForceBuildWithoutRequest(t *testing.T) {
	hist := statustest.NewHistory(statustest.NewBuild("linux").Number(7).Build())
	b := offlineBot(t, Options{AllowForce: true, Control: blindControl{}, History: hist})
	assert.Equal(t, []string{"PRIVMSG #ops :build of linux forced; watch it with 'watch linux' once it runs"},
		run(b, "alice", "#ops", "force build linux"))
}

func TestHandlesDeclaredKinds(t *testing.T) {
	b := offlineBot(t, Options{})
	for k := status.Kind(1); k < 64; k++ {
		assert.Equal(t, k == status.BuildStarted || k == status.BuildFinished, b.Handles(k), "%v", k)
	}
}
