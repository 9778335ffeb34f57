package github

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
)

// The token never shows in logs, errors, Stats or any printing of the
// reporter and its options, whatever goes wrong.
func TestSecretsAbsent(t *testing.T) {
	const secret = "ghp_VERYSECRETVALUE123456789"
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFakeGitHub(t, secret, "octo/hello")
	o := Options{Token: secret, BaseURL: f.URL(), Logger: logger}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	hub := status.NewHub(status.HubOptions{Logger: logger, Retry: status.RetryPolicy{Initial: time.Millisecond, MaxElapsed: 50 * time.Millisecond}})
	hub.Add(r)
	var texts []string
	// 500, 401, a success through the Hub, then the server gone.
	f.Fail(reply(http.StatusInternalServerError, "", "", `{"message":"boom"}`),
		reply(http.StatusUnauthorized, "", "", `{"message":"Bad credentials"}`))
	texts = append(texts, fmt.Sprint(report(t, r, status.BuildStarted, build(1).Build())))
	texts = append(texts, fmt.Sprint(report(t, r, status.BuildStarted, build(1).Build())))
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: build(2).Build()})
	wait(t, f, 3)
	f.Close()
	texts = append(texts, fmt.Sprint(report(t, r, status.BuildFinished, build(1).Failed().Build())))
	// A skipped status logs the build.
	texts = append(texts, fmt.Sprint(report(t, r, status.BuildStarted, build(3).Revision("").Build())))
	if err := hub.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, st := range hub.Stats() {
		texts = append(texts, st.LastError, fmt.Sprintf("%+v", st))
	}
	texts = append(texts, logs.String(), r.String(), fmt.Sprintf("%v %+v %#v", r, r, r),
		fmt.Sprintf("%v %+v %#v", o, o, o), fmt.Sprint(o.Token))
	all := strings.Join(texts, "\n")
	if strings.Contains(all, secret) {
		t.Errorf("the token leaked:\n%s", all)
	}
	if !strings.Contains(all, "Bad credentials") || !strings.Contains(all, "HTTP 500") {
		t.Errorf("the failures were not exercised:\n%s", all)
	}
}
