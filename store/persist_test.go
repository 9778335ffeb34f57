package store_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
)

// fast makes tests wait little for the background writer.
var fast = store.MemoryOptions{PersistDelay: 5 * time.Millisecond}

func open(t testing.TB, path string, o store.MemoryOptions) *store.Memory {
	t.Helper()
	m, err := store.OpenMemory(path, o)
	require.NoError(t, err)
	return m
}

func TestOpenMemoryHistoryConformance(t *testing.T) {
	dir := t.TempDir()
	n := 0
	openFile := func(t *testing.T) status.Ledger {
		n++
		m := open(t, filepath.Join(dir, fmt.Sprintf("h%d.db", n)), fast)
		t.Cleanup(func() { m.Close(ctx) })
		return m
	}
	t.Run("File", func(t *testing.T) {
		statustest.HistoryConformance(t, statustest.HistorySuite{Open: openFile})
	})
	t.Run("Reopened", func(t *testing.T) {
		statustest.HistoryConformance(t, statustest.HistorySuite{
			Open: openFile,
			Reopen: func(t *testing.T, l status.Ledger) status.Ledger {
				m := l.(*store.Memory)
				require.NoError(t, m.Close(ctx))
				m2 := open(t, filepath.Join(dir, fmt.Sprintf("h%d.db", n)), fast)
				t.Cleanup(func() { m2.Close(ctx) })
				return m2
			},
		})
	})
}

func TestOpenMemoryKeepsHistoryAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	opts := store.MemoryOptions{BuildsPerBuilder: 2, Changes: 2, Activity: 3, PersistDelay: time.Hour}
	m := open(t, path, opts)
	feed(t, m, status.Event{Kind: status.MasterStarted, Time: statustest.Epoch, Master: "m1"},
		status.Event{Kind: status.BuilderAdded, Builder: &status.Builder{Name: "linux", Tags: []string{"ci"}, Description: "Debian"}})
	w := status.Worker{Name: "w1", Host: "debian"}
	feed(t, m, status.Event{Kind: status.WorkerConnected, Time: statustest.Epoch.Add(time.Minute), Worker: &w})
	for i := 1; i <= 3; i++ {
		c := statustest.NewChange(0, "Alice <alice@example.org>")
		feed(t, m, status.Event{Kind: status.ChangeAdded, Change: &c})
		feed(t, m, statustest.NewBuild("linux").Number(i).Tags("ci").Property("owner", "alice").
			Step("compile", status.Success).Step("test", status.Failure).Failed().Events()...)
	}
	feed(t, m, status.Event{Kind: status.WorkerDisconnected, Time: statustest.Epoch.Add(2 * time.Minute), Worker: &w})
	// PersistDelay is an hour: Close writes everything.
	require.NoError(t, m.Close(ctx))
	assert.Error(t, m.Apply(&status.Event{Kind: status.MasterStopping}), "Apply after Close")

	m2 := open(t, path, opts)
	defer m2.Close(ctx)
	b, err := m2.Builder(ctx, "linux")
	require.NoError(t, err)
	assert.Equal(t, "Debian", b.Description)
	assert.Equal(t, status.Idle, b.State)
	builds, err := m2.Builds(ctx, status.BuildQuery{})
	require.NoError(t, err)
	require.Len(t, builds, 2, "retention 2")
	b3 := builds[0]
	assert.Equal(t, 3, b3.Number)
	assert.Equal(t, status.Failure, b3.Result)
	require.Len(t, b3.Steps, 2)
	assert.Equal(t, "alice", b3.Property("owner"))
	assert.Equal(t, "test: output of stdio\n", readAll(t, m2, b3.Steps[1].Logs[0]))
	_, err = m2.Log(ctx, status.LogRef{Builder: "linux", Build: 1, Step: "test", Name: "stdio"})
	assert.ErrorIs(t, err, status.ErrNotFound, "the log of a build past retention is gone from the file")
	cs, err := m2.Changes(ctx, status.ChangeQuery{})
	require.NoError(t, err)
	require.Len(t, cs, 2)
	assert.Equal(t, []int64{3, 2}, []int64{cs[0].ID, cs[1].ID})
	ws, err := m2.Workers(ctx)
	require.NoError(t, err)
	require.Len(t, ws, 1)
	assert.Equal(t, "debian", ws[0].Host)
	assert.False(t, ws[0].Connected)
	act, err := m2.Activity(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	var kinds []status.Kind
	for _, e := range act {
		kinds = append(kinds, e.Kind)
	}
	assert.Equal(t, []status.Kind{status.BuilderAdded, status.WorkerConnected, status.WorkerDisconnected}, kinds,
		"the waterfall's activity is kept, within retention")
	assert.Equal(t, "w1", act[1].Worker.Name)

	c := statustest.NewChange(0, "Bob <bob@example.org>")
	e := status.Event{Kind: status.ChangeAdded, Change: &c}
	require.NoError(t, m2.Apply(&e))
	assert.Equal(t, int64(4), e.Change.ID, "change IDs continue")
	feed(t, m2, status.Event{Kind: status.MasterStarted, Time: statustest.Epoch.Add(time.Hour)})
	require.NoError(t, m2.Close(ctx))
	m3 := open(t, path, opts)
	defer m3.Close(ctx)
	act, err = m3.Activity(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, act, 3)
	assert.Equal(t, status.MasterStarted, act[2].Kind, "activity after a restart is kept after the old")
}

func TestOpenMemoryRunningBuildComesBackInterrupted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	m := open(t, path, fast)
	feed(t, m, statustest.NewBuild("linux").Number(7).Step("compile", status.Success).Succeeded().Events()...)
	b := statustest.NewBuild("linux").Number(8).Started(statustest.Epoch.Add(time.Hour)).Running().Build()
	st := status.Step{Name: "compile", Started: b.Started}
	ref := status.LogRef{Builder: "linux", Build: 8, Step: "compile", Name: "stdio"}
	feed(t, m, status.Event{Kind: status.BuildStarted, Build: b}, status.Event{Kind: status.StepStarted, Build: b, Step: &st},
		status.Event{Kind: status.LogStarted, Build: b, Step: &st, Log: &ref},
		status.Event{Kind: status.LogAppended, Build: b, Step: &st, Log: &ref, Chunk: "half a log\n"})
	require.NoError(t, m.Close(ctx))

	m2 := open(t, path, fast)
	got, err := m2.Build(ctx, "linux", 8)
	require.NoError(t, err)
	assert.True(t, got.Done(), "a running build comes back finished")
	assert.Equal(t, status.Exception, got.Result)
	assert.Equal(t, []string{store.InterruptedText}, got.Text)
	assert.False(t, got.Finished.Before(got.Started))
	require.Len(t, got.Steps, 1)
	assert.Equal(t, status.Exception, got.Steps[0].Result)
	assert.True(t, got.Steps[0].Done())
	assert.Equal(t, "half a log\n", readAll(t, m2, ref), "the log so far is kept")
	require.Len(t, got.Steps[0].Logs, 1)
	assert.Equal(t, int64(len("half a log\n")), got.Steps[0].Logs[0].Size)
	assert.True(t, m2.LogDone(ref))
	newest, err := m2.Build(ctx, "linux", -1)
	require.NoError(t, err)
	assert.Equal(t, 8, newest.Number, "its number is taken: the host continues at 9")
	require.NoError(t, m2.Close(ctx))

	// The interrupted state is written back: a third start sees the same.
	m3 := open(t, path, fast)
	defer m3.Close(ctx)
	got, err = m3.Build(ctx, "linux", 8)
	require.NoError(t, err)
	assert.Equal(t, status.Exception, got.Result)
	assert.Equal(t, []string{store.InterruptedText}, got.Text, "not interrupted twice")
}

func TestOpenMemoryRefusesALockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	m := open(t, path, fast)
	defer m.Close(ctx)
	_, err := store.OpenMemory(path, store.MemoryOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "another process")
}

func TestSyncWaitsForTheWriter(t *testing.T) {
	m := open(t, filepath.Join(t.TempDir(), "history.db"), store.MemoryOptions{PersistDelay: 20 * time.Millisecond})
	defer m.Close(ctx)
	require.NoError(t, m.Sync(ctx), "nothing to wait for")
	feed(t, m, statustest.NewBuild("linux").Step("compile", status.Success).Succeeded().Events()...)
	require.NoError(t, m.Sync(ctx))
	short, cancel := context.WithCancel(ctx)
	cancel()
	// A writer that waits an hour is still waiting, however slow this test.
	slow := open(t, filepath.Join(t.TempDir(), "slow.db"), store.MemoryOptions{PersistDelay: time.Hour})
	defer slow.Close(ctx)
	feed(t, slow, status.Event{Kind: status.MasterStarted})
	assert.ErrorIs(t, slow.Sync(short), context.Canceled)
	assert.NoError(t, store.NewMemory(store.MemoryOptions{}).Sync(ctx), "a Memory without a file has nothing to sync")
}

// makeHistoryFile writes a history file with a few builds and returns its
// path and bytes.
func makeHistoryFile(t *testing.T) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "good.db")
	m := open(t, path, fast)
	for i := 1; i <= 6; i++ {
		c := statustest.NewChange(0, "Alice <alice@example.org>")
		feed(t, m, status.Event{Kind: status.ChangeAdded, Change: &c})
		feed(t, m, statustest.NewBuild(fmt.Sprintf("b%d", i%3)).Number(i).Step("compile", status.Success).
			Step("test", status.Failure).Failed().Events()...)
	}
	feed(t, m, status.Event{Kind: status.WorkerConnected, Worker: &status.Worker{Name: "w1"}})
	require.NoError(t, m.Close(ctx))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return path, data
}

func TestOpenMemoryDamagedFile(t *testing.T) {
	_, good := makeHistoryFile(t)
	dir := t.TempDir()
	// try opens data as a history file: it returns the error, or nil and
	// the number of builds that loaded.
	try := func(name string, data []byte) (int, error) {
		t.Helper()
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		m, err := store.OpenMemory(path, fast)
		if err == nil {
			builds, rerr := m.Builds(ctx, status.BuildQuery{})
			assert.NoError(t, rerr)
			assert.NoError(t, m.Close(ctx))
			return len(builds), nil
		}
		assert.Contains(t, err.Error(), path, "the error names the file")
		assert.Contains(t, err.Error(), "delete it", "the error says what to do")
		return 0, err
	}
	t.Run("Truncated", func(t *testing.T) {
		page := os.Getpagesize()
		refused := 0
		for _, n := range []int{1, 100, page, page + 50, 2 * page, 3*page - 1, len(good) / 2, len(good) - page, len(good) - 1} {
			builds, err := try(fmt.Sprintf("trunc%d.db", n), good[:n])
			if err != nil {
				refused++
			} else {
				// bbolt grows its file ahead of use: a cut in the
				// unused tail loses nothing.
				assert.Equal(t, 6, builds, "truncated to %d of %d bytes: opened, but lost builds", n, len(good))
			}
		}
		assert.GreaterOrEqual(t, refused, 6, "cuts into the data are refused")
	})
	t.Run("FlippedBytes", func(t *testing.T) {
		// Every page's id and type, and bytes all over.
		var offs []int
		for p := 0; p < len(good); p += os.Getpagesize() {
			offs = append(offs, p, p+8, p+16+3, p+16+41)
		}
		for off := 5; off < len(good); off += 331 {
			offs = append(offs, off)
		}
		refused := 0
		for _, off := range offs {
			bad := append([]byte(nil), good...)
			bad[off] ^= 0xff
			if _, err := try(fmt.Sprintf("flip%d.db", off), bad); err != nil {
				refused++
			}
		}
		assert.Positive(t, refused, "some flips are caught")
		t.Logf("%d of %d flips refused (the others hit unused space or text)", refused, len(offs))
	})
	t.Run("NotAHistoryFile", func(t *testing.T) {
		_, err := try("text.db", []byte(strings.Repeat("hello, world\n", 1000)))
		assert.Error(t, err)
	})
}

// The crash test: a child process applies builds, waits until the store
// says they are in the file, says so, and is killed with SIGKILL.
const crashChildEnv = "HERALD_STORE_CRASH_CHILD"

func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("run by TestKillNineKeepsHistory")
	}
	m, err := store.OpenMemory(path, store.MemoryOptions{PersistDelay: 10 * time.Millisecond})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	apply := func(e status.Event) {
		if err := m.Apply(&e); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	for i := 1; i <= 20; i++ {
		for _, e := range statustest.NewBuild("linux").Number(i).Step("compile", status.Success).
			Step("test", status.Failure).Failed().Events() {
			apply(e)
		}
	}
	b := statustest.NewBuild("linux").Number(21).Started(statustest.Epoch.Add(time.Hour)).Running().Build()
	st := status.Step{Name: "compile", Started: b.Started}
	ref := status.LogRef{Builder: "linux", Build: 21, Step: "compile", Name: "stdio"}
	apply(status.Event{Kind: status.BuildStarted, Build: b})
	apply(status.Event{Kind: status.StepStarted, Build: b, Step: &st})
	apply(status.Event{Kind: status.LogStarted, Build: b, Step: &st, Log: &ref})
	for i := range 100 {
		apply(status.Event{Kind: status.LogAppended, Build: b, Step: &st, Log: &ref, Chunk: fmt.Sprintf("line %d\n", i)})
	}
	if err := m.Sync(ctx); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("persisted", 21)
	// Keep applying until killed: the kill lands mid-work.
	for i := 0; ; i++ {
		apply(status.Event{Kind: status.LogAppended, Build: b, Step: &st, Log: &ref, Chunk: fmt.Sprintf("more %d\n", i)})
	}
}

func TestKillNineKeepsHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	var last int
	for lines.Scan() {
		line := lines.Text()
		require.False(t, strings.HasPrefix(line, "error"), "child: %s", line)
		if n, ok := strings.CutPrefix(line, "persisted "); ok {
			last, err = strconv.Atoi(n)
			require.NoError(t, err)
			break
		}
	}
	require.Equal(t, 21, last, "the child never said its builds were persisted")
	require.NoError(t, cmd.Process.Signal(os.Kill))
	_ = cmd.Wait()

	m := open(t, path, fast)
	defer m.Close(ctx)
	for i := 1; i <= 20; i++ {
		b, err := m.Build(ctx, "linux", i)
		require.NoError(t, err, "build #%d", i)
		assert.Equal(t, status.Failure, b.Result)
		require.Len(t, b.Steps, 2)
		assert.Equal(t, "test: output of stdio\n", readAll(t, m, b.Steps[1].Logs[0]), "build #%d", i)
	}
	b, err := m.Build(ctx, "linux", 21)
	require.NoError(t, err)
	assert.Equal(t, status.Exception, b.Result)
	assert.Equal(t, []string{store.InterruptedText}, b.Text)
	text := readAll(t, m, status.LogRef{Builder: "linux", Build: 21, Step: "compile", Name: "stdio"})
	var want strings.Builder
	for i := range 100 {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	assert.True(t, strings.HasPrefix(text, want.String()), "the log up to the sync is kept")
	newest, err := m.Build(ctx, "linux", -1)
	require.NoError(t, err)
	assert.Equal(t, 21, newest.Number, "build numbers continue after 21")
}

// FuzzOpenMemory opens damaged history files: an error naming the file or
// a usable store, never a panic, a fault or a hang. The input is a list of
// patches to a real file (so that minimizing a finding is quick): each 3
// bytes flip bits at an offset (big-endian uint16 times 2, then the bits); 2
// bytes left over truncate the file to that many KiB.
func FuzzOpenMemory(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.db")
	m, err := store.OpenMemory(path, fast)
	require.NoError(f, err)
	for i := 1; i <= 3; i++ {
		for _, e := range statustest.NewBuild("linux").Number(i).Step("compile", status.Success).Succeeded().Events() {
			require.NoError(f, m.Apply(&e))
		}
	}
	require.NoError(f, m.Close(ctx))
	good, err := os.ReadFile(path)
	require.NoError(f, err)
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x00, 0xff})             // page 4 (of 4 KiB pages), first byte
	f.Add([]byte{0x10, 0x0a, 0x01, 0x00, 0x0c}) // page 8, its count; cut at 12 KiB
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, patches []byte) {
		data := append([]byte(nil), good...)
		for ; len(patches) >= 3; patches = patches[3:] {
			off := 2 * (int(patches[0])<<8 | int(patches[1]))
			data[off%len(data)] ^= patches[2]
		}
		if len(patches) == 2 {
			data = data[:min(len(data), 1024*(int(patches[0])<<8|int(patches[1])))]
		}
		path := filepath.Join(dir, "fuzz.db")
		require.NoError(t, os.WriteFile(path, data, 0o600))
		m, err := store.OpenMemory(path, fast)
		if err != nil {
			assert.Contains(t, err.Error(), path)
			return
		}
		_, err = m.Builds(ctx, status.BuildQuery{})
		assert.NoError(t, err)
		assert.NoError(t, m.Close(ctx))
	})
}

// logBuckets counts, in a closed history file, the builds and the builds'
// log buckets it holds.
func logBuckets(t *testing.T, path string) (builds, logs int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		count := func(b *bolt.Bucket, n *int) error {
			return b.ForEachBucket(func(name []byte) error {
				return b.Bucket(name).ForEach(func(_, _ []byte) error { *n++; return nil })
			})
		}
		return errors.Join(count(tx.Bucket([]byte("builds")), &builds), count(tx.Bucket([]byte("logs")), &logs))
	}))
	return builds, logs
}

// TestOpenMemoryDropsTheLogsOfPrunedBuilds prunes builds whose last event
// lists their steps without logs (as a host's own BuildFinished may): their
// logs leave memory and the file with them, and logs an earlier Herald left
// in the file without their build go at the next start.
func TestOpenMemoryDropsTheLogsOfPrunedBuilds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	opts := store.MemoryOptions{BuildsPerBuilder: 3, PersistDelay: time.Hour} // one commit, at Close
	m := open(t, path, opts)
	for i := 1; i <= 20; i++ {
		evs := statustest.NewBuild("linux").Number(i).Step("compile", status.Success).Step("test", status.Failure).Failed().Events()
		end := &evs[len(evs)-1]
		require.Equal(t, status.BuildFinished, end.Kind)
		end.Build = end.Build.Clone()
		for j := range end.Build.Steps {
			end.Build.Steps[j].Logs = nil
		}
		feed(t, m, evs...)
	}
	_, err := m.Log(ctx, status.LogRef{Builder: "linux", Build: 1, Step: "test", Name: "stdio"})
	assert.ErrorIs(t, err, status.ErrNotFound, "a pruned build's log leaves memory")
	assert.Equal(t, "test: output of stdio\n", readAll(t, m, status.LogRef{Builder: "linux", Build: 20, Step: "test", Name: "stdio"}))
	require.NoError(t, m.Close(ctx))
	builds, logs := logBuckets(t, path)
	assert.Equal(t, 3, builds)
	assert.Equal(t, 3, logs, "only the kept builds have logs in the file")

	// Logs without their build, as an earlier Herald left them.
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		for _, orphan := range []struct {
			builder string
			number  uint64
		}{{"linux", 2}, {"linux", 7}, {"gone", 1}} {
			bk, err := tx.Bucket([]byte("logs")).CreateBucketIfNotExists([]byte(orphan.builder))
			if err != nil {
				return err
			}
			nb, err := bk.CreateBucket(binary.BigEndian.AppendUint64(nil, orphan.number))
			if err != nil {
				return err
			}
			if err := nb.Put([]byte("test\x00stdio\x00\x00\x00\x00\x00"), []byte("old\n")); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, db.Close())
	_, logs = logBuckets(t, path)
	require.Equal(t, 6, logs)

	m = open(t, path, opts)
	assert.Equal(t, "test: output of stdio\n", readAll(t, m, status.LogRef{Builder: "linux", Build: 18, Step: "test", Name: "stdio"}))
	require.NoError(t, m.Close(ctx))
	builds, logs = logBuckets(t, path)
	assert.Equal(t, 3, builds)
	assert.Equal(t, 3, logs, "the next start deletes logs without a build")
}
