package gitlab

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/gitlab/gitlabtest"
	"github.com/heraldci/herald/status"
)

// The token never shows in logs, errors, Stats or any printing of the
// reporter and its options, whatever goes wrong, even when GitLab (or a
// proxy before it) echoes the request's headers.
func TestSecretsAbsent(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFakeGitLab(t)
	o := Options{Token: testToken, BaseURL: f.URL(), Logger: logger, Note: NoteOnFailure}
	r, err := New(o)
	require.NoError(t, err)
	hub := status.NewHub(status.HubOptions{Logger: logger, Retry: status.RetryPolicy{Initial: time.Millisecond, MaxElapsed: 50 * time.Millisecond}})
	hub.Add(r)
	var texts []string
	f.Fail(gitlabtest.Reply(http.StatusInternalServerError, `{"message":"boom, PRIVATE-TOKEN: `+testToken+`"}`),
		gitlabtest.Reply(http.StatusBadRequest, "<pre>POST /api/v4\nPRIVATE-TOKEN: "+testToken+"\n</pre>"),
		gitlabtest.Reply(http.StatusUnauthorized, `{"message":"401 Unauthorized"}`))
	for i := range 3 {
		texts = append(texts, fmt.Sprint(report(t, r, status.BuildStarted, build(i+1).Build())))
	}
	hub.Publish(status.Event{Kind: status.BuildFinished, Build: build(4).Failed().Property(MergeRequestProperty, 3).Build()})
	wait(t, f, 5)
	f.Close()
	texts = append(texts, fmt.Sprint(report(t, r, status.BuildFinished, build(5).Failed().Build())))
	require.NoError(t, hub.Shutdown(context.Background()))
	for _, st := range hub.Stats() {
		texts = append(texts, st.LastError, fmt.Sprintf("%+v", st))
	}
	texts = append(texts, logs.String(), r.String(), fmt.Sprintf("%v %+v %#v", r, r, r),
		fmt.Sprintf("%v %+v %#v", o, o, o), fmt.Sprint(o.Token))
	all := strings.Join(texts, "\n")
	assert.NotContains(t, all, testToken)
	assert.Contains(t, all, "HTTP 500")
	assert.Contains(t, all, "PRIVATE-TOKEN: <redacted>")
	assert.Contains(t, all, "401 Unauthorized")
}
