package wire_test

import (
	stdjson "encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/internal/wire"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func events() []status.Event {
	running := statustest.NewBuild("linux").Number(1).Tags("ci").Property("owner", "alice@example.org").
		Change(statustest.NewChange(1, "Alice <alice@example.org>")).Build()
	finished := statustest.NewBuild("linux").Number(2).Tags("ci").Step("compile", status.Success).
		Step("test", status.Failure).Change(statustest.NewChange(2, "Bob <bob@example.org>")).Failed().Build()
	finished.Sources[0].Patch = &status.Patch{Level: 1, Body: []byte("--- a\n+++ b\n"), Subdir: "src", Author: "bob", Comment: "try"}
	finished.Steps[0].URLs = []status.Link{{Name: "coverage", URL: "https://example.org/cov"}}
	finished.Blamelist, finished.URL, finished.BuildSetID, finished.Master = []string{"bob"}, "https://ci/b/2", "7", "m1"
	var evs []status.Event
	evs = append(evs, statustest.EveryKind(running)...)
	evs = append(evs, statustest.EveryKind(finished)...)
	for i := range evs {
		evs[i].Seq, evs[i].ID, evs[i].Master = uint64(i+1), fmt.Sprintf("hub-%d", i+1), "m1"
	}
	evs[0].Worker = &status.Worker{Name: "w1", Info: map[string]string{"os": "linux"}, Connected: true, LastSeen: statustest.Epoch}
	evs[14].Skipped = 3
	return evs
}

func TestRoundTripEveryKind(t *testing.T) {
	for _, e := range events() {
		data, err := wire.Marshal(e)
		require.NoError(t, err)
		got, err := wire.Unmarshal(data)
		require.NoError(t, err, "%s", data)
		assert.Equal(t, e, got, "%v did not survive the wire", e.Kind)
	}
}

// One golden file per kind: what other machines read.
func TestGoldenEveryKind(t *testing.T) {
	for _, e := range events()[len(status.AllKinds()):] { // the finished build's
		data, err := wire.Marshal(e)
		require.NoError(t, err)
		data, err = jsontext.AppendFormat(nil, data, jsontext.WithIndent("  "))
		require.NoError(t, err)
		testkit.Golden(t, *update, "event-"+e.Kind.String()+".json", append(data, '\n'))
	}
}

func TestReadersTolerateUnknownFields(t *testing.T) {
	data := `{"v":1,"kind":"buildStarted","time":"2026-01-02T15:04:05Z","seq":4,"new_top":{"x":1},
		"build":{"builder":"linux","number":3,"result":"success","started":"2026-01-02T15:04:05Z","flavour":"new"}}`
	e, err := wire.Unmarshal([]byte(data))
	require.NoError(t, err)
	assert.Equal(t, status.BuildStarted, e.Kind)
	assert.Equal(t, "linux", e.Build.Builder)
}

// A log chunk of binary output is still an event: invalid UTF-8 becomes
// U+FFFD instead of failing the publish, and a reader takes such bytes
// from an older writer the same way.
func TestInvalidUTF8IsReplaced(t *testing.T) {
	data, err := wire.Marshal(status.Event{Kind: status.LogAppended, Chunk: "ok \xff\xfe end"})
	require.NoError(t, err)
	e, err := wire.Unmarshal(data)
	require.NoError(t, err)
	assert.Equal(t, "ok \ufffd\ufffd end", e.Chunk)
	e, err = wire.Unmarshal([]byte("{\"v\":1,\"kind\":\"logAppended\",\"chunk\":\"a\xffb\"}"))
	require.NoError(t, err)
	assert.Equal(t, "a\ufffdb", e.Chunk)
}

// Names are matched exactly, and a name given twice is refused rather
// than read either way.
func TestExactAndUniqueNames(t *testing.T) {
	e, err := wire.Unmarshal([]byte(`{"v":1,"kind":"buildStarted","SEQ":9}`))
	require.NoError(t, err)
	assert.Zero(t, e.Seq)
	_, err = wire.Unmarshal([]byte(`{"v":1,"kind":"buildStarted","seq":1,"seq":2}`))
	assert.Error(t, err)
}

func TestRefusesNewerVersionsAndBadNames(t *testing.T) {
	_, err := wire.Unmarshal([]byte(`{"v":2,"kind":"buildStarted"}`))
	assert.ErrorContains(t, err, "newer")
	_, err = wire.Unmarshal([]byte(`{"v":1,"kind":"buildExploded"}`))
	assert.Error(t, err)
	_, err = wire.Unmarshal([]byte(`{"v":1,"kind":"buildFinished","build":{"result":"meh"}}`))
	assert.Error(t, err)
}

// The core model and the wire types change shape only together, on
// purpose: a field added to, renamed in or retyped in status.Event (or any
// type it reaches) changes this golden file, and the test says what to do.
func TestShapeChangesOnPurpose(t *testing.T) {
	got := "status.Event:\n" + shape(reflect.TypeFor[status.Event]()) + "\nwire.Event:\n" + shape(reflect.TypeFor[wire.Event]())
	if *update {
		testkit.Golden(t, true, "shape.golden", []byte(got))
		return
	}
	want, err := os.ReadFile(filepath.Join("testdata", "shape.golden"))
	require.NoError(t, err)
	if got != string(want) {
		t.Fatalf("the shape of status.Event or wire.Event changed.\n"+
			"If status changed: carry the change into internal/wire (types, FromStatus, ToStatus, bump Version if old readers would misread), "+
			"then run go test ./internal/wire -update.\n--- got ---\n%s", got)
	}
}

// shape lists every struct reachable from t with its fields and types.
func shape(t reflect.Type) string {
	seen := map[reflect.Type]bool{}
	var lines []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			if t.Kind() == reflect.Map {
				walk(t.Key())
			}
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || t.PkgPath() == "time" {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			lines = append(lines, fmt.Sprintf("%s.%s %s %s", t.Name(), f.Name, f.Type, f.Tag.Get("json")))
			walk(f.Type)
		}
	}
	walk(t)
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

func FuzzUnmarshal(f *testing.F) {
	for _, e := range events() {
		data, err := wire.Marshal(e)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(`{"v":1,"kind":"logAppended","chunk":"x","log":{"builder":"a"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := wire.Unmarshal(data)
		if err != nil {
			return
		}
		again, err := wire.Marshal(e)
		require.NoError(t, err)
		e2, err := wire.Unmarshal(again)
		require.NoError(t, err, "%s", again)
		a, _ := wire.Marshal(e2)
		assert.JSONEq(t, string(again), string(a), "not stable across a second round trip")
	})
}

// BenchmarkCodec encodes and decodes every kind of event of a finished
// build (what a bus publisher and subscriber pay per event), with this
// package's codec and, in the same run, with encoding/json on the same
// types (the codec it replaced).
func BenchmarkCodec(b *testing.B) {
	evs := events()
	data := make([][]byte, len(evs))
	for i, e := range evs {
		data[i], _ = wire.Marshal(e)
	}
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, err := wire.Marshal(evs[i%len(evs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("marshal-encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, err := stdjson.Marshal(wire.FromStatus(evs[i%len(evs)])); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, err := wire.Unmarshal(data[i%len(data)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal-encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			var w wire.Event
			if err := stdjson.Unmarshal(data[i%len(data)], &w); err != nil {
				b.Fatal(err)
			}
			if _, err := w.ToStatus(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
