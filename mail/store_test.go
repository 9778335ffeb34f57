package mail

import (
	"context"
	"strings"
	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

// TestWithStoreMemory runs the Notifier on a real History, store.Memory,
// fed the same events: previous builds for the modes and log contents for
// the body come from it.
func TestWithStoreMemory(t *testing.T) {
	mem := store.NewMemory(store.MemoryOptions{})
	rec := &recorder{}
	n, err := New(Options{From: "ci@example.org", ExtraRecipients: []string{"l@example.org"}, Mode: Problem | Fixed,
		History: mem, Sender: rec, AddLogs: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	results := []status.Result{status.Success, status.Failure, status.Failure, status.Success}
	for i, r := range results {
		for _, e := range statustest.NewBuild("linux").Number(i+1).Step("test", r).Result(r).Events() {
			if err := mem.Apply(&e); err != nil {
				t.Fatal(err)
			}
			if err := n.Report(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []string
	for _, env := range rec.all() {
		got = append(got, env.Message.Subject)
	}
	if strings.Join(got, "|") != "Herald failure: linux #2 on main|Herald success: linux #4 on main" {
		t.Errorf("mails: %q", got)
	}
	m := rec.all()[0].Message
	if !strings.Contains(m.Text, "test: output of stdio") || len(m.Attachments) != 1 || string(m.Attachments[0].Data) != "test: output of stdio\n" {
		t.Errorf("log from store.Memory missing: %q, %d attachments", m.Text, len(m.Attachments))
	}
}
