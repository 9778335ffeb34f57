package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/store"
)

// childEnv makes the test binary run a role of the command (os.Args after
// the binary) instead of the tests: the cluster test's child processes.
const childEnv = "HERALD_CLUSTER_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestClusterTwoMastersOneFrontEnd(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-builds", "2", "-speed", "50", "-store", t.TempDir(), "-addr", "127.0.0.1:0"}, &out, &errs)
	require.NoError(t, err, errs.String())
	s := out.String()
	assert.Equal(t, 4, strings.Count(s, "front: master-"), "2 builds per master:\n%s", s)
	assert.Contains(t, s, "front: web status at http://127.0.0.1:")
	for _, want := range []string{"a-linux(master-a)", "b-linux(master-b)", "a-docs(master-a)", "b-docs(master-b)"} {
		assert.Contains(t, s, want, "front end does not show builder %s", want)
	}
}

// child is a role running in a process of its own; its stdout lines are
// kept and can be waited for.
type child struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd

	mu    sync.Mutex
	lines []string
	grew  chan struct{} // closed and replaced when a line arrives
	ended chan struct{} // closed when stdout ends
}

func start(t *testing.T, name string, args ...string) *child {
	t.Helper()
	c := &child{t: t, name: name, grew: make(chan struct{}), ended: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], args...)
	c.cmd.Env = append(os.Environ(), childEnv+"=1")
	var stderr bytes.Buffer
	c.cmd.Stderr = &stderr
	out, err := c.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, c.cmd.Start())
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			close(c.grew)
			c.grew = make(chan struct{})
			c.mu.Unlock()
		}
		close(c.ended)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.ended
		_ = c.cmd.Wait()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, stderr.String())
		}
	})
	return c
}

// waitFor waits until the child's output satisfies ok (given every line so
// far) and returns the lines; the deadline only bounds a failing test.
func (c *child) waitFor(what string, ok func(lines []string) bool) []string {
	c.t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		lines, grew := append([]string(nil), c.lines...), c.grew
		c.mu.Unlock()
		if ok(lines) {
			return lines
		}
		select {
		case <-grew:
		case <-c.ended:
			c.mu.Lock()
			lines = append([]string(nil), c.lines...)
			c.mu.Unlock()
			require.True(c.t, ok(lines), "%s ended before %s:\n%s", c.name, what, strings.Join(lines, "\n"))
			return lines
		case <-deadline.C:
			c.t.Fatalf("%s: no %s after 60s:\n%s", c.name, what, strings.Join(lines, "\n"))
		}
	}
}

func (c *child) waitLine(prefix string) string {
	c.t.Helper()
	lines := c.waitFor(fmt.Sprintf("line %q", prefix), func(lines []string) bool {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return true
			}
		}
		return false
	})
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// kill ends the child without a goodbye (kill -9).
func (c *child) kill() {
	c.t.Helper()
	require.NoError(c.t, c.cmd.Process.Signal(syscall.SIGKILL))
	<-c.ended
	_ = c.cmd.Wait()
}

// stop asks the child to stop (SIGTERM) and waits for a clean exit.
func (c *child) stop() {
	c.t.Helper()
	require.NoError(c.t, c.cmd.Process.Signal(syscall.SIGTERM))
	<-c.ended
	require.NoError(c.t, c.cmd.Wait(), "%s exit", c.name)
}

var (
	publishedLine = regexp.MustCompile(`^(master-\w): published (\S+) #(\d+) `)
	frontLine     = regexp.MustCompile(`^front: (master-\w) (\S+) #(\d+) `)
)

// builds collects "master builder #n" from the lines that match re.
func builds(re *regexp.Regexp, lines []string, into map[string]bool) {
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			into[m[1]+" "+m[2]+" #"+m[3]] = true
		}
	}
}

// Masters and the front end in processes of their own: killing a master
// or the front end (kill -9) and starting it again loses no build a master
// had published; the front end's history file ends up with all of them.
func TestClusterProcessesSurviveKills(t *testing.T) {
	dir := t.TempDir()
	nats := start(t, "nats", "nats", "-store", filepath.Join(dir, "js"), "-addr", "127.0.0.1:0")
	url := strings.TrimPrefix(nats.waitLine("nats: listening on "), "nats: listening on ")
	history := filepath.Join(dir, "front.db")
	startFront := func() *child {
		f := start(t, "front", "front", "-nats", url, "-history", history, "-addr", "none")
		f.waitLine("front: ready")
		return f
	}
	master := func(name string, first, n int) *child {
		return start(t, name, "master", "-nats", url, "-name", name, "-first", fmt.Sprint(first),
			"-builds", fmt.Sprint(n), "-speed", "50")
	}
	published := map[string]bool{}
	countPublished := func(n int) func([]string) bool {
		return func(lines []string) bool {
			got := map[string]bool{}
			builds(publishedLine, lines, got)
			return len(got) >= n
		}
	}

	front := startFront()
	a, b := master("master-a", 1, 6), master("master-b", 1, 10)

	// kill -9 master-a after two builds, and start it again (numbering
	// on from 101: its builds so far keep theirs).
	builds(publishedLine, a.waitFor("2 published builds", countPublished(2)), published)
	a.kill()
	builds(publishedLine, a.lines, published)
	a = master("master-a", 101, 4)

	// kill -9 the front end once it showed a few builds, and start it
	// again on the same history file and durable consumer.
	frontSaw := map[string]bool{}
	builds(frontLine, front.waitFor("3 builds", func(lines []string) bool {
		got := map[string]bool{}
		builds(frontLine, lines, got)
		return len(got) >= 3
	}), frontSaw)
	front.kill()
	builds(frontLine, front.lines, frontSaw)
	b.mu.Lock()
	bDone := slices.Contains(b.lines, "master-b: done")
	b.mu.Unlock()
	if bDone {
		t.Log("master-b had finished before the front end was killed") // a slow machine: the kill tested less
	}
	front = startFront()

	for _, m := range []*child{a, b} {
		m.waitLine(m.name + ": done")
		builds(publishedLine, m.waitFor("the end", func([]string) bool { return true }), published)
	}
	require.GreaterOrEqual(t, len(published), 10+4+2, "builds published: %v", published)

	// The front end shows everything published (some builds twice: those
	// its first process showed but had not acknowledged).
	front.waitFor("every published build", func(lines []string) bool {
		got := map[string]bool{}
		builds(frontLine, lines, got)
		for k := range frontSaw {
			got[k] = true
		}
		for k := range published {
			if !got[k] {
				return false
			}
		}
		return true
	})
	front.stop()

	// Its history file has every build both masters published.
	mem, err := store.OpenMemory(history, store.MemoryOptions{})
	require.NoError(t, err)
	defer mem.Close(context.Background())
	inFile := map[string]bool{}
	bs, err := mem.Builds(context.Background(), status.BuildQuery{Builders: []string{"a-linux", "a-docs", "b-linux", "b-docs"}, Finished: true})
	require.NoError(t, err)
	for _, b := range bs {
		inFile[b.Master+" "+b.Builder+" #"+fmt.Sprint(b.Number)] = true
	}
	for k := range published {
		assert.True(t, inFile[k], "%s published but not in the front end's history", k)
	}
	t.Logf("%d builds published, %d finished builds in the front end's history", len(published), len(inFile))
}
