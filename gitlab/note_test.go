package gitlab

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/gitlab/gitlabtest"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
)

// A failed merge request build leaves one note, through a Hub, even when
// the note fails once and the event is retried; the bodies are golden.
func TestMergeRequestNote(t *testing.T) {
	f := newFakeGitLab(t)
	r := newReporter(t, f, Options{Note: NoteOnFailure})
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler),
		Retry: status.RetryPolicy{Initial: time.Millisecond, Max: 5 * time.Millisecond, Jitter: -1}})
	hub.Add(r)
	b := build(7).Property(MergeRequestProperty, "!12").Step("test", status.Failure).Failed()
	hub.Publish(b.Events()[0])
	wait(t, f, 1)
	// The status goes through, the note meets a 502 the first time.
	f.Fail(gitlabtest.Reply(http.StatusCreated, `{"id":1}`), gitlabtest.Reply(http.StatusBadGateway, `<html>502 Bad Gateway</html>`))
	for _, e := range b.Events()[1:] {
		hub.Publish(e)
	}
	require.NoError(t, hub.Shutdown(context.Background()))
	assert.Equal(t, []gitlabtest.Note{{ID: 2, Project: project, MergeRequest: 12,
		Body: "linux #7: Build #7 failed: failed test\n\nhttps://ci.example.org/builders/linux/builds/7"}}, f.Notes())
	testkit.Golden(t, *update, "note.golden", []byte(lines(f.Requests())))
}

func TestNoteSkips(t *testing.T) {
	f := newFakeGitLab(t)
	r := newReporter(t, f, Options{Note: NoteOnFailure})
	require.NoError(t, report(t, r, status.BuildFinished, build(1).Succeeded().Property(MergeRequestProperty, 12).Build()))
	require.NoError(t, report(t, r, status.BuildFinished, build(2).Failed().Build()), "no merge request")
	require.NoError(t, report(t, r, status.BuildFinished, build(3).Failed().Property(MergeRequestProperty, "twelve").Build()))
	require.NoError(t, report(t, r, status.BuildStarted, build(4).Property(MergeRequestProperty, 12).Build()))
	assert.Empty(t, f.Notes())
	// The hooks package's property on the change counts too.
	c := status.Change{Revision: sha, Properties: map[string]any{"merge_request.iid": 5, "source_branch": "topic"}}
	require.NoError(t, report(t, r, status.BuildFinished, build(5).Change(c).Failed().Build()))
	require.Len(t, f.Notes(), 1)
	assert.Equal(t, int64(5), f.Notes()[0].MergeRequest)
	reqs := f.Requests()
	assert.Equal(t, "topic", reqs[len(reqs)-2].Ref, "the merge request's source branch is the ref")
}
