package stash

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
)

// Neither password nor token shows in logs, errors, Stats or any printing
// of the reporter and its options, whatever goes wrong.
func TestSecretsAbsent(t *testing.T) {
	f := newFakeBitbucket(t, "")
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	basic := Options{BaseURL: f.URL(), Username: testUser, Password: testPass, Logger: logger}
	bearer := Options{BaseURL: f.URL(), Token: testToken, Logger: logger}
	var texts []string
	for _, o := range []Options{basic, bearer} {
		r, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		hub := status.NewHub(status.HubOptions{Logger: logger, Retry: status.RetryPolicy{Initial: time.Millisecond, MaxElapsed: 50 * time.Millisecond}})
		hub.Add(r)
		f.Fail(answer(http.StatusInternalServerError, "", "", `{"errors":[{"message":"boom"}]}`),
			answer(http.StatusUnauthorized, "", "", `{"errors":[{"message":"Authentication failed."}]}`))
		texts = append(texts, fmt.Sprint(report(t, r, status.BuildStarted, build("linux", 1).Build())))
		texts = append(texts, fmt.Sprint(report(t, r, status.BuildStarted, build("linux", 2).Build())))
		hub.Publish(status.Event{Kind: status.BuildStarted, Build: build("linux", 3).Build()})
		if err := hub.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, st := range hub.Stats() {
			texts = append(texts, fmt.Sprintf("%+v", st))
		}
		texts = append(texts, r.String(), fmt.Sprintf("%v %+v %#v", r, r, r), fmt.Sprintf("%v %+v %#v", o, o, o))
	}
	f.Close()
	r, _ := New(basic)
	texts = append(texts, fmt.Sprint(report(t, r, status.BuildStarted, build("linux", 4).Build())), logs.String())
	all := strings.Join(texts, "\n")
	encoded := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass))
	for _, secret := range []string{testPass, testToken, encoded} {
		if strings.Contains(all, secret) {
			t.Errorf("%q leaked:\n%s", secret, all)
		}
	}
	if !strings.Contains(all, "HTTP 500") || !strings.Contains(all, "HTTP 401") {
		t.Errorf("the failures were not exercised:\n%s", all)
	}
}
