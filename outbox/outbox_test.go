package outbox

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/internal/wire"
	"github.com/heraldci/herald/status"
)

func event(i int) status.Event {
	return status.Event{
		Kind: status.BuildFinished, Seq: uint64(i), ID: fmt.Sprintf("hub-%d", i),
		Time:  time.Date(2024, 5, 1, 12, 0, i%60, 0, time.UTC),
		Build: &status.Build{Builder: "linux", Number: i, Result: status.Failure},
	}
}

func chunk(i int, log string) status.Event {
	return status.Event{
		Kind: status.LogAppended, Seq: uint64(i), ID: fmt.Sprintf("hub-%d", i),
		Log:   &status.LogRef{Builder: "linux", Build: 1, Step: "test", Name: log},
		Chunk: fmt.Sprintf("line %d\n", i),
	}
}

func logFinished(i int, log string) status.Event {
	e := chunk(i, log)
	e.Kind, e.Chunk = status.LogFinished, ""
	return e
}

func open(t testing.TB, path string, o Options) *File {
	t.Helper()
	f, err := Open(path, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func ids(es []status.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func TestOrderAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ob.db")
	f := open(t, path, Options{})
	require.NoError(t, f.Append([]status.Event{event(1), event(2), event(3)}))
	require.NoError(t, f.Append([]status.Event{event(4)}))
	require.NoError(t, f.Append(nil))
	assert.Equal(t, 4, f.Len())

	got, err := f.Read(3)
	require.NoError(t, err)
	assert.Equal(t, []string{"hub-1", "hub-2", "hub-3"}, ids(got))
	assert.Equal(t, event(2), got[1], "an event comes back as it went in")
	assert.Equal(t, 4, f.Len(), "Read does not remove")

	require.NoError(t, f.Remove(2))
	assert.Equal(t, 2, f.Len())
	require.Error(t, f.Remove(3), "more than are stored")
	assert.Equal(t, 2, f.Len(), "a failed Remove removes nothing")
	require.NoError(t, f.Close())
	require.NoError(t, f.Close(), "Close is idempotent")

	f = open(t, path, Options{})
	assert.Equal(t, 2, f.Len())
	require.NoError(t, f.Append([]status.Event{event(5)}))
	got, err = f.Read(100)
	require.NoError(t, err)
	assert.Equal(t, []string{"hub-3", "hub-4", "hub-5"}, ids(got))

	// Drained to empty, the keys still go on from where they were: an
	// event appended after a restart sorts after any left behind.
	require.NoError(t, f.Remove(3))
	require.NoError(t, f.Close())
	f = open(t, path, Options{})
	assert.Equal(t, 0, f.Len())
	got, err = f.Read(10)
	require.NoError(t, err)
	assert.Empty(t, got)
	require.NoError(t, f.Append([]status.Event{event(6)}))
	require.NoError(t, f.db.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketEvents).Cursor().First()
		assert.Equal(t, uint64(6), binary.BigEndian.Uint64(k))
		return nil
	}))
}

func TestFullShedsChunksFirst(t *testing.T) {
	var logged bytes.Buffer
	f := open(t, filepath.Join(t.TempDir(), "ob.db"), Options{MaxEvents: 5, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	require.NoError(t, f.Append([]status.Event{event(1), chunk(2, "stdio"), event(3)}))

	// Four more do not fit in the two places left: two of the three
	// chunks go, the oldest first, and the stdio log's next event says so.
	require.NoError(t, f.Append([]status.Event{chunk(4, "stdio"), chunk(5, "stdio"), chunk(6, "stdio"), event(7)}))
	assert.Equal(t, 5, f.Len())
	assert.Equal(t, uint64(2), f.Shed())
	got, err := f.Read(10)
	require.NoError(t, err)
	assert.Equal(t, []string{"hub-1", "hub-2", "hub-3", "hub-6", "hub-7"}, ids(got))
	assert.Equal(t, 2, got[3].Skipped, "the chunk after the shed ones counts them")
	assert.Contains(t, logged.String(), "shedding log chunks")

	// Full: lifecycle events are refused, never shed, and nothing of the
	// group is stored.
	err = f.Append([]status.Event{chunk(8, "other"), event(9)})
	require.ErrorIs(t, err, ErrFull)
	assert.Contains(t, err.Error(), f.Path())
	assert.Equal(t, 5, f.Len())
	assert.Equal(t, uint64(2), f.Shed(), "a refused group sheds nothing")

	// A chunk shed with no later event of its log in the group marks the
	// next one appended.
	require.NoError(t, f.Remove(1))
	require.NoError(t, f.Append([]status.Event{event(10), chunk(11, "other")}))
	assert.Equal(t, uint64(3), f.Shed())
	require.NoError(t, f.Remove(4))
	require.NoError(t, f.Append([]status.Event{chunk(12, "stdio"), logFinished(13, "other")}))
	got, err = f.Read(10)
	require.NoError(t, err)
	require.Equal(t, []string{"hub-10", "hub-12", "hub-13"}, ids(got))
	assert.Equal(t, 0, got[1].Skipped, "stdio's shed chunks were reported already")
	assert.Equal(t, 1, got[2].Skipped, "other's shed chunk is reported by its LogFinished")
}

func TestAppendDoesNotModifyTheGroup(t *testing.T) {
	f := open(t, filepath.Join(t.TempDir(), "ob.db"), Options{MaxEvents: 1, Logger: slog.New(slog.DiscardHandler)})
	group := []status.Event{chunk(1, "stdio"), logFinished(2, "stdio")}
	require.NoError(t, f.Append(group))
	assert.Equal(t, 0, group[1].Skipped, "the Hub's events are shared with other reporters")
}

func TestBadRecordIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ob.db")
	f := open(t, path, Options{})
	require.NoError(t, f.Append([]status.Event{event(1), event(2), event(3)}))
	require.NoError(t, f.db.Update(func(tx *bolt.Tx) error {
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], 2)
		return tx.Bucket(bucketEvents).Put(k[:], []byte(`{"kind":"nonsense"}`))
	}))

	got, err := f.Read(10)
	require.NoError(t, err, "the events before the bad record come first")
	assert.Equal(t, []string{"hub-1"}, ids(got))
	require.NoError(t, f.Remove(1))

	got, err = f.Read(10)
	var re *RecordError
	require.ErrorAs(t, err, &re)
	assert.Empty(t, got)
	assert.Equal(t, uint64(2), re.Key)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "record 2")

	require.NoError(t, f.Remove(1), "the host may drop it")
	got, err = f.Read(10)
	require.NoError(t, err)
	assert.Equal(t, []string{"hub-3"}, ids(got))
}

// filled returns the path of a closed outbox holding n events.
func filled(t *testing.T, n int) string {
	path := filepath.Join(t.TempDir(), "ob.db")
	f, err := Open(path, Options{})
	require.NoError(t, err)
	group := make([]status.Event, n)
	for i := range group {
		group[i] = event(i + 1)
		group[i].Chunk = fmt.Sprintf("%0500d", i) // a few pages' worth
	}
	require.NoError(t, f.Append(group))
	require.NoError(t, f.Close())
	return path
}

func TestDamagedFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"truncated", func(t *testing.T, path string) {
			st, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, st.Size()/2))
		}},
		{"garbage", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("this is not a bbolt file, nor half of one"), 0o600))
		}},
		{"scribbled pages", func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			for i := 4 * 4096; i < len(b); i += 7 {
				b[i] ^= 0x5a
			}
			require.NoError(t, os.WriteFile(path, b, 0o600))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filled(t, 200)
			tc.damage(t, path)
			f, err := Open(path, Options{})
			if err == nil {
				// Scribbled values may still leave a consistent tree:
				// then the records say it.
				defer f.Close()
				_, err = f.Read(1000)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), path)
			assert.Regexp(t, "damaged|does not decode", err.Error())
		})
	}
}

// A file truncated while open faults on the mapping: Read reports it.
func TestTruncatedWhileOpen(t *testing.T) {
	path := filled(t, 200)
	f := open(t, path, Options{})
	require.NoError(t, os.Truncate(path, 4096*2))
	got, err := f.Read(1000)
	require.Error(t, err)
	assert.Empty(t, got)
	assert.Contains(t, err.Error(), path)
}

func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ob.db")
	open(t, path, Options{})
	_, err := Open(path, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "locked by another process")
}

func TestOptions(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "ob.db"), Options{MaxEvents: -1})
	assert.EqualError(t, err, "outbox: Options.MaxEvents is negative (-1): use 0 for the default 1000000")
	path := filepath.Join(t.TempDir(), "missing", "ob.db")
	_, err = Open(path, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.NotContains(t, err.Error(), "damaged", "a missing directory is not a damaged file")
}

// FuzzDecode: any bytes decode to an event or an error, never a panic, and
// what decodes encodes to a record that decodes to the same event.
func FuzzDecode(f *testing.F) {
	for _, e := range []status.Event{event(1), chunk(2, "stdio"), {Kind: status.MasterStarted}} {
		b, err := encodeEvent(&e)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"buildStarted","build":{"properties":{"a":[1,"x",null]}}}`))
	f.Add([]byte(`{"kind":7}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEvent(b)
		if err != nil {
			return
		}
		enc, err := encodeEvent(&e)
		require.NoError(t, err)
		again, err := decodeEvent(enc)
		require.NoError(t, err)
		enc2, err := encodeEvent(&again)
		require.NoError(t, err)
		assert.JSONEq(t, string(enc), string(enc2))
	})
}

// Given no logger, the outbox logs through the one the Hub hands it
// (status.WithOutbox), which names the reporter.
func TestLogsThroughTheHubsLogger(t *testing.T) {
	f := open(t, filepath.Join(t.TempDir(), "ob.db"), Options{MaxEvents: 2})
	log, logs := testkit.NewLogs()
	f.InheritLogger(log.With("reporter", "push"))
	require.NoError(t, f.Append([]status.Event{event(1), chunk(2, "stdio"), chunk(3, "stdio"), event(4)}))
	assert.Contains(t, logs.Lines(), testkit.LogLine{Level: "WARN", Reporter: "push",
		Msg: "outbox: full, shedding log chunks (the next event of each log says how many it lacks)"})
}

// An event JSON cannot hold is left out alone; the group's others are
// stored, and the error says how many were left out.
func TestAppendLeavesOutAnUnencodableEvent(t *testing.T) {
	f := open(t, filepath.Join(t.TempDir(), "ob.db"), Options{})
	bad := event(2)
	bad.Build = &status.Build{Builder: "linux", Properties: map[string]any{"oops": make(chan int)}}
	err := f.Append([]status.Event{event(1), bad, event(3)})
	var be *status.BatchError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, 3, be.Settled)
	assert.Equal(t, 1, be.Refused)
	got, err := f.Read(10)
	require.NoError(t, err)
	assert.Equal(t, []string{"hub-1", "hub-3"}, ids(got))
}

// A record written by a newer release (read after a downgrade) is not
// unreadable: the Hub keeps it and retries, instead of dropping it.
func TestNewerRecordIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ob.db")
	f := open(t, path, Options{})
	require.NoError(t, f.Append([]status.Event{event(1)}))
	require.NoError(t, f.db.Update(func(tx *bolt.Tx) error {
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], 1)
		return tx.Bucket(bucketEvents).Put(k[:], []byte(`{"v":99,"kind":"buildFinished"}`))
	}))
	_, err := f.Read(10)
	var re *RecordError
	require.ErrorAs(t, err, &re)
	assert.ErrorIs(t, err, wire.ErrNewer)
	assert.NotErrorIs(t, err, status.ErrUnreadable)

	require.NoError(t, f.db.Update(func(tx *bolt.Tx) error {
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], 1)
		return tx.Bucket(bucketEvents).Put(k[:], []byte(`{"kind":"nonsense"}`))
	}))
	_, err = f.Read(10)
	assert.ErrorIs(t, err, status.ErrUnreadable, "a damaged record is")
}
