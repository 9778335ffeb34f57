package hublog_test

import (
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/heraldci/herald/internal/hublog"
	"github.com/heraldci/herald/internal/testkit"
)

func textLogger(level slog.Level) (*slog.Logger, *testkit.Buffer) {
	var buf testkit.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) },
	})), &buf
}

func dropTime(a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func TestOwnLoggerIsKept(t *testing.T) {
	own, ownBuf := textLogger(slog.LevelInfo)
	hub, hubBuf := textLogger(slog.LevelInfo)
	log, inherit := hublog.New(own)
	assert.Same(t, own, log)
	inherit(hub)
	log.Info("hello")
	assert.Equal(t, "level=INFO msg=hello\n", ownBuf.String())
	assert.Empty(t, hubBuf.String())
}

// Not parallel: it replaces slog.Default.
func TestDefaultUntilInherited(t *testing.T) {
	def, defBuf := textLogger(slog.LevelInfo)
	saved := slog.Default()
	slog.SetDefault(def)
	t.Cleanup(func() { slog.SetDefault(saved) })

	log, inherit := hublog.New(nil)
	part := log.With("target", "irc").WithGroup("conn").With("server", "x:6667")
	log.Info("before")
	part.Debug("not at info")
	part.Warn("lost")
	assert.Equal(t, "level=INFO msg=before\nlevel=WARN msg=lost target=irc conn.server=x:6667\n", defBuf.String())

	hub, hubBuf := textLogger(slog.LevelDebug)
	inherit(hub.With("reporter", "irc"))
	log.Info("after")
	part.Debug("debug now")
	assert.Equal(t, "level=INFO msg=after reporter=irc\n"+
		"level=DEBUG msg=\"debug now\" reporter=irc target=irc conn.server=x:6667\n", hubBuf.String(),
		"the logger and those derived from it follow, with their attributes and the hub's level")
	assert.NotContains(t, defBuf.String(), "after")

	second, secondBuf := textLogger(slog.LevelInfo)
	inherit(second)
	part.Info("third")
	assert.Equal(t, "level=INFO msg=third target=irc conn.server=x:6667\n", secondBuf.String(), "the last one given wins")
}

// Run with -race: loggers derived from the target's are used on several
// goroutines while the Hub's logger arrives.
func TestInheritWhileLogging(t *testing.T) {
	log, inherit := hublog.New(nil)
	hub, hubBuf := textLogger(slog.LevelInfo)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := log.With("g", i)
			for range 200 {
				l.Debug("line") // below both levels: nothing written
			}
		}()
	}
	inherit(hub)
	wg.Wait()
	log.With("g", 9).Info("done")
	assert.Equal(t, "level=INFO msg=done g=9\n", hubBuf.String())
}

// BenchmarkLog compares a line through the target's logger, after the Hub's
// arrived, with the same line straight through the Hub's.
func BenchmarkLog(b *testing.B) {
	hub := slog.New(slog.NewJSONHandler(io.Discard, nil)).With("reporter", "bench")
	log, inherit := hublog.New(nil)
	inherit(hub)
	for name, l := range map[string]*slog.Logger{"direct": hub.With("target", "x"), "inherited": log.With("target", "x")} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.Info("status skipped", "builder", "linux", "build", 7)
			}
		})
	}
}
