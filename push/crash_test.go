package push

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/outbox"
	"github.com/heraldci/herald/status"
)

// The crash test's child reads what to do from the environment.
const (
	crashOutboxEnv = "HERALD_PUSH_CRASH_OUTBOX" // the outbox file
	crashURLEnv    = "HERALD_PUSH_CRASH_URL"    // the receiver
	crashModeEnv   = "HERALD_PUSH_CRASH_MODE"   // "publish" or "deliver"
	crashEvents    = 2000
)

// watchedOutbox tells when the outbox holds n events (after an Append) or
// none (after a Remove): an event-driven wait, no polling.
type watchedOutbox struct {
	*outbox.File
	full, empty chan struct{}
	n           int
}

func (w *watchedOutbox) Append(es []status.Event) error {
	err := w.File.Append(es)
	if w.File.Len() >= w.n {
		closeOnce(w.full)
	}
	return err
}

func (w *watchedOutbox) Remove(n int) error {
	err := w.File.Remove(n)
	if w.File.Len() == 0 {
		closeOnce(w.empty)
	}
	return err
}

func closeOnce(c chan struct{}) {
	select {
	case <-c:
	default:
		close(c)
	}
}

// TestCrashChild is the process TestCrash runs twice. In "publish" mode it
// publishes 2,000 events through a Hub to a Pusher whose receiver is dead,
// prints "ready" once the outbox holds them all, and waits to be killed.
// In "deliver" mode it opens the same outbox, waits until the Hub has
// delivered everything in it, and exits.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashOutboxEnv)
	if path == "" {
		t.Skip("run by TestCrash")
	}
	f, err := outbox.Open(path, outbox.Options{})
	require.NoError(t, err)
	ob := &watchedOutbox{File: f, full: make(chan struct{}), empty: make(chan struct{}), n: crashEvents}
	p, err := New(Options{URL: os.Getenv(crashURLEnv)})
	require.NoError(t, err)
	hub := status.NewHub(status.HubOptions{})
	hub.Add(p, status.WithOutbox(ob),
		status.WithRetry(status.RetryPolicy{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, MaxElapsed: time.Hour}))

	switch os.Getenv(crashModeEnv) {
	case "publish":
		for i := 1; i <= crashEvents; i++ {
			hub.Publish(buildEvent(i))
		}
		<-ob.full
		fmt.Println("ready")
		select {} // until kill -9
	case "deliver":
		require.Equal(t, crashEvents, f.Len(), "the outbox kept every event across kill -9")
		<-ob.empty
		require.NoError(t, hub.Shutdown(context.Background()))
		st := hub.Stats()[0]
		assert.Equal(t, uint64(crashEvents), st.Delivered)
		assert.Zero(t, st.Failed+st.Dropped)
	}
}

// TestCrash: events queued in an outbox for a dead receiver survive kill -9
// of the master; a restarted master delivers all of them, in order, with at
// most one batch repeated.
func TestCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "push.outbox")
	child := func(mode, url string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashOutboxEnv+"="+path, crashURLEnv+"="+url, crashModeEnv+"="+mode)
		cmd.Stderr = os.Stderr
		return cmd
	}

	cmd := child("publish", "http://"+deadAddress(t)+"/submit")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var seen []string
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- ""
				return
			}
			seen = append(seen, sc.Text())
		}
		ready <- strings.Join(seen, "\n")
	}()
	select {
	case got := <-ready:
		require.Empty(t, got, "the child ended before it was ready")
	case <-time.After(2 * time.Minute): // a hung child fails the test instead of hanging it
		t.Fatal("the child never reported ready")
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no Shutdown, no Close
	_ = cmd.Wait()

	rc := newReceiver(t, Form, 200, 1<<20)
	srv := serve(t, rc, "")
	cmd = child("deliver", srv.URL+"/submit")
	cmd.Stdout = os.Stdout
	require.NoError(t, cmd.Run(), "the restarted master")

	got := rc.packets()
	seen := map[string]bool{}
	var unique []Packet
	for _, p := range got {
		if !seen[p.ID] {
			seen[p.ID] = true
			unique = append(unique, p)
		}
	}
	assert.LessOrEqual(t, len(got)-len(unique), 200, "at most one batch repeated")
	for i := range unique {
		require.True(t, strings.HasSuffix(unique[i].ID, fmt.Sprintf("-%d", i+1)), "packet %d has id %s: the Hub's ids, in order", i, unique[i].ID)
		unique[i].ID = eventID(i + 1)
	}
	checkInOrder(t, unique, 1, crashEvents)
}
