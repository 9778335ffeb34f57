package web

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/store"
)

var _ ActivityHistory = (*store.Memory)(nil)

// The waterfall's worker, master and reconfig events come from a History
// that keeps them, so a store.OpenMemory file brings them back after a
// restart, to a Server that was never given them.
func TestWaterfallEventsSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	opts := store.MemoryOptions{PersistDelay: time.Hour} // Close writes everything
	w := status.Worker{Name: "w1", Builders: []string{"linux"}}
	events := []status.Event{
		{Kind: status.MasterStarted, Time: t0, Master: "m1"},
		{Kind: status.BuilderAdded, Time: t0.Add(time.Minute), Builder: &status.Builder{Name: "linux"}},
		{Kind: status.BuilderAdded, Time: t0.Add(time.Minute), Builder: &status.Builder{Name: "windows"}},
		{Kind: status.WorkerConnected, Time: t0.Add(2 * time.Minute), Worker: &w},
		{Kind: status.WorkerDisconnected, Time: t0.Add(3 * time.Minute), Worker: &w},
		{Kind: status.MasterStopping, Time: t0.Add(4 * time.Minute), Master: "m1"},
	}
	// Each text, and the columns (linux, windows) it is in.
	want := map[string]int{
		"master started (m1)":    2,
		"builder added":          2, // one in each builder's own column
		"worker w1 connected":    1,
		"worker w1 disconnected": 1,
		"master stopping (m1)":   2,
	}
	eventBoxes := func(page string) map[string]int {
		got := map[string]int{}
		for _, part := range strings.Split(page, `<div class="box event" data-kind="event">`)[1:] {
			text, _, ok := strings.Cut(part, "</div>")
			require.True(t, ok)
			got[text]++
		}
		return got
	}

	// First run: the events reach the store (the Hub's History) and then
	// the Server, as Hub.Publish does.
	m1, err := store.OpenMemory(path, opts)
	require.NoError(t, err)
	s1 := newServer(t, m1, Options{})
	for _, e := range events {
		require.NoError(t, m1.Apply(&e))
		require.NoError(t, s1.Report(t.Context(), e))
	}
	assert.Equal(t, want, eventBoxes(mustGet(t, s1, "/waterfall")), "each event once, though the Server saw it too")
	require.NoError(t, s1.Close(t.Context()))
	require.NoError(t, m1.Close(t.Context()))

	// After the restart the new Server is given nothing: what it shows
	// comes from the file.
	m2, err := store.OpenMemory(path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { m2.Close(t.Context()) })
	s2 := newServer(t, m2, Options{})
	page := mustGet(t, s2, "/waterfall")
	assert.Equal(t, want, eventBoxes(page))
	assert.Equal(t, []string{"linux", "windows"}, columns(page))

	// The window still applies, and show_events=false hides them.
	assert.Equal(t, map[string]int{"worker w1 disconnected": 1, "master stopping (m1)": 2},
		eventBoxes(mustGet(t, s2, "/waterfall?first_time="+t0.Add(3*time.Minute).Format(time.RFC3339))))
	assert.Empty(t, eventBoxes(mustGet(t, s2, "/waterfall?show_events=false")))
}
