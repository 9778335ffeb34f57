package gitea

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/gitea/giteatest"
	"github.com/heraldci/herald/status"
)

// The token never shows in logs, errors, Stats or any printing of the
// reporter and its options, even when the server echoes the request's
// Authorization header back.
func TestSecretsAbsent(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFakeGitea(t, giteatest.Options{})
	o := Options{Token: testToken, BaseURL: f.URL(), Logger: logger}
	r, err := New(o)
	require.NoError(t, err)
	hub := status.NewHub(status.HubOptions{Logger: logger, Retry: status.RetryPolicy{Initial: time.Millisecond, MaxElapsed: 50 * time.Millisecond}})
	hub.Add(r)
	f.Fail(giteatest.Reply(500, `{"message":"boom: Authorization: token `+testToken+`"}`),
		giteatest.Reply(401, "bad credentials "+testToken), giteatest.Reply(503, `{"message":"down"}`))
	var texts []string
	for i := range 2 {
		texts = append(texts, fmt.Sprint(report(t, r, status.BuildStarted, build(i+1).Build())))
	}
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: build(3).Build()})
	wait(t, f, 4)
	f.Close()
	texts = append(texts, fmt.Sprint(report(t, r, status.BuildFinished, build(4).Failed().Build())))
	require.NoError(t, hub.Shutdown(context.Background()))
	for _, st := range hub.Stats() {
		texts = append(texts, st.LastError, fmt.Sprintf("%+v", st))
	}
	texts = append(texts, logs.String(), r.String(), fmt.Sprintf("%v %+v %#v", r, r, r), fmt.Sprintf("%v %+v %#v", o, o, o))
	all := strings.Join(texts, "\n")
	assert.NotContains(t, all, testToken)
	assert.Contains(t, all, "Authorization: token <redacted>")
	assert.Contains(t, all, "bad credentials <redacted>")
}
