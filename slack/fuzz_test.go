package slack_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/slack"
	"github.com/heraldci/herald/status/statustest"
)

// FuzzSlashCommand feeds signed slash commands of any text and form to
// the handler: it must answer 200, 400 or 413 and never panic.
func FuzzSlashCommand(f *testing.F) {
	f.Add("status", "U0ALICE", "C0BUILDS", "")
	f.Add(`force build "linux`, "U0ALICE", "D0PRIVATE", "")
	f.Add("help help help", "", "C0", "%zz")
	f.Add("notify on successToFailure", "U1", "G0", "&&=")
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer api.Close()
	b, err := slack.New(slack.Options{Token: testToken, APIURL: api.URL + "/", SigningSecret: testSigning,
		History: statustest.NewHistory(statustest.NewBuild("linux").Number(1).Succeeded().Build()), Logger: quiet()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, user, channel, extra string) {
		r := slashRequest(testSigning, time.Now(), command(user, channel, text))
		if extra != "" {
			body := readAll(r) + "&" + extra
			r = slashRequest(testSigning, time.Now(), nil)
			r.Body = httptestBody(body)
			resign(r, body)
		}
		w := httptest.NewRecorder()
		b.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		var a answer
		if w.Code == http.StatusOK && (json.Unmarshal(w.Body.Bytes(), &a) != nil || strings.ContainsAny(a.Text, "<>")) {
			t.Fatalf("not JSON, or unescaped mrkdwn: %s", w.Body)
		}
	})
}

// resign signs r again for body.
func resign(r *http.Request, body string) {
	ts := r.Header.Get("X-Slack-Request-Timestamp")
	r.Header.Set("X-Slack-Signature", signature(testSigning, ts, body))
}
