package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/store"
)

// TestMemoryThroughHub gives the store to a real Hub as its history: a
// reporter handling BuildFinished reads the whole log from it, and every
// reporter sees a hook's change with the ID and time the store gave it.
func TestMemoryThroughHub(t *testing.T) {
	for _, file := range []bool{false, true} {
		t.Run(fmt.Sprintf("file=%v", file), func(t *testing.T) {
			mem := store.NewMemory(store.MemoryOptions{})
			path := filepath.Join(t.TempDir(), "history.db")
			if file {
				mem = open(t, path, fast)
			}
			hub := status.NewHub(status.HubOptions{History: mem})
			var mu sync.Mutex
			var tails []string
			var changes []status.Change
			require.NoError(t, hub.Add(status.ReporterFunc(func(ctx context.Context, e status.Event) error {
				mu.Lock()
				defer mu.Unlock()
				switch e.Kind {
				case status.ChangeAdded:
					changes = append(changes, *e.Change)
				case status.BuildFinished:
					text := readAll(t, mem, status.LogRef{Builder: e.Build.Builder, Build: e.Build.Number, Step: "test", Name: "stdio"})
					tails = append(tails, text[strings.LastIndexByte(text[:len(text)-1], '\n')+1:])
					if len(e.Build.Sources) > 0 && len(e.Build.Sources[0].Changes) > 0 {
						changes = append(changes, e.Build.Sources[0].Changes[0])
					}
				}
				return nil
			}), status.WithName("reader")))

			const builds = 20
			for n := 1; n <= builds; n++ {
				rev := fmt.Sprintf("%040x", n)
				hub.Publish(status.Event{Kind: status.ChangeAdded, Change: &status.Change{Author: "Alice <alice@example.org>",
					Revision: rev, Branch: "main", Repository: "r"}})
				run := status.StartBuild(hub, &status.Build{Builder: "linux", Number: n, Sources: []status.SourceStamp{{
					Repository: "r", Branch: "main", Revision: rev, Changes: []status.Change{{Revision: rev}}}}})
				step := run.StartStep("test")
				log := step.OpenLog("stdio")
				for i := range 90 {
					fmt.Fprintf(log, "build %d line %d\n", n, i)
				}
				require.NoError(t, log.Close())
				step.Finish(status.Failure)
				run.Finish(status.Failure)
			}
			require.NoError(t, hub.Shutdown(ctx))
			assert.Zero(t, hub.Counts().HistoryErrors)
			require.Len(t, tails, builds)
			for n, tail := range tails {
				assert.Equal(t, fmt.Sprintf("build %d line 89\n", n+1), tail, "the reporter read the whole log")
			}
			require.Len(t, changes, 2*builds)
			for i := 0; i < len(changes); i += 2 {
				hook, inBuild := changes[i], changes[i+1]
				assert.Equal(t, int64(i/2+1), hook.ID, "the hook's change, as the reporter saw it")
				assert.False(t, hook.When.IsZero())
				assert.Equal(t, hook.ID, inBuild.ID, "the build's copy of the change")
			}
			if file {
				require.NoError(t, mem.Close(ctx))
				m2 := open(t, path, fast)
				defer m2.Close(ctx)
				b, err := m2.Build(ctx, "linux", -1)
				require.NoError(t, err)
				assert.Equal(t, builds, b.Number)
				assert.Equal(t, int64(builds), b.Sources[0].Changes[0].ID)
			}
		})
	}
}
