package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
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
	for _, partitions := range []string{"1", "2"} {
		t.Run("partitions="+partitions, func(t *testing.T) {
			var out, errs bytes.Buffer
			err := run(context.Background(), []string{"-builds", "2", "-speed", "50", "-store", t.TempDir(), "-addr", "127.0.0.1:0",
				"-partitions", partitions}, &out, &errs)
			require.NoError(t, err, errs.String())
			s := out.String()
			assert.Contains(t, s, "("+partitions+" stream partitions)")
			assert.Equal(t, 4, strings.Count(s, "front: master-"), "2 builds per master:\n%s", s)
			assert.Contains(t, s, "front: web status at http://127.0.0.1:")
			for _, want := range []string{"a-linux(master-a)", "b-linux(master-b)", "a-docs(master-a)", "b-docs(master-b)"} {
				assert.Contains(t, s, want, "front end does not show builder %s", want)
			}
		})
	}
}

// child is a role running in a process of its own; its stdout lines are
// kept and can be waited for.
type child struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd

	mu     sync.Mutex
	lines  []string
	grew   chan struct{} // closed and replaced when a line arrives
	ended  chan struct{} // closed when stdout ends
	stderr bytes.Buffer  // read it once the child was stopped or killed
}

func start(t *testing.T, name string, args ...string) *child {
	t.Helper()
	c := &child{t: t, name: name, grew: make(chan struct{}), ended: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], args...)
	c.cmd.Env = append(os.Environ(), childEnv+"=1")
	c.cmd.Stderr = &c.stderr
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
			t.Logf("%s stderr:\n%s", name, c.stderr.String())
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
	publishedLine = regexp.MustCompile(`^(master-\w): published (\S+) #(\d+) (\w+)`)
	startedLine   = regexp.MustCompile(`^(master-\w): started (\S+) #(\d+)`)
	frontLine     = regexp.MustCompile(`^front: (master-\w) (\S+) #(\d+) (\w+)`)
	frontStarted  = regexp.MustCompile(`^front: started (master-\w) (\S+) #(\d+)`)
)

// startedNotEnded returns a build the lines say started (per started) and
// not yet ended (per ended), when one of the ended lines came first.
func startedNotEnded(lines []string, started, ended *regexp.Regexp) (string, bool) {
	done := map[string]string{}
	builds(ended, lines, done)
	if len(done) == 0 {
		return "", false
	}
	for _, l := range lines {
		if m := started.FindStringSubmatch(l); m != nil {
			if k := m[1] + " " + m[2] + " #" + m[3]; done[k] == "" {
				return k, true
			}
		}
	}
	return "", false
}

// builds collects "master builder #n" from the lines that match re, with
// the result the line gives (the last line about a build wins).
func builds(re *regexp.Regexp, lines []string, into map[string]string) {
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			into[m[1]+" "+m[2]+" #"+m[3]] = m[len(m)-1]
		}
	}
}

// Masters and the front end in processes of their own: killing a master
// or the front end (kill -9) and starting it again loses no build a master
// had published; the front end's history file ends up with all of them,
// each with the result its master published. The build the master's kill
// left running ends as interrupted when that master starts again, on the
// front end too; the front end's own restart interrupts nothing.
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
	master := func(name string, n int, speed string) *child {
		return start(t, name, "master", "-nats", url, "-name", name, "-history", filepath.Join(dir, name+".db"),
			"-builds", fmt.Sprint(n), "-speed", speed)
	}
	published := map[string]string{}

	front := startFront()
	fronts := []*child{front}
	// master-a runs slowly (a build takes a second or more) until killed.
	a := master("master-a", 0, "2")

	// kill -9 master-a once it published a build and the stream has the
	// start of the next: that one is running (in master-a's history file
	// too, which the stream never gets ahead of), and master-a runs one
	// build at a time.
	var running string
	builds(publishedLine, a.waitFor("a build published and the next started", func(lines []string) (ok bool) {
		running, ok = startedNotEnded(lines, startedLine, publishedLine)
		return ok
	}), published)
	a.kill()
	builds(publishedLine, a.lines, published)
	require.NotContains(t, published, running, "%s ended before the kill", running)
	// Started again on its history file, master-a ends that build first,
	// then numbers its builds on.
	a = master("master-a", 4, "50")
	a.waitLine("master-a: builds its last process left running, ended as interrupted: 1")
	b := master("master-b", 6, "10")

	// kill -9 the front end while its history file holds a build of
	// master-b running (the console prints a start once the file holds
	// it), and start it again on the same history file and durable
	// consumer: the build is still running there.
	frontSaw := map[string]string{}
	var onB string
	builds(frontLine, front.waitFor("a build of master-b running", func(lines []string) (ok bool) {
		onB, ok = startedNotEnded(lines, frontStarted, frontLine)
		return ok && strings.HasPrefix(onB, "master-b ")
	}), frontSaw)
	front.kill()
	builds(frontLine, front.lines, frontSaw)
	mem, err := store.OpenMemory(history, store.MemoryOptions{})
	require.NoError(t, err)
	var leftKeys []string
	kept, err := mem.Builds(context.Background(), status.BuildQuery{Builders: []string{"a-linux", "a-docs", "b-linux", "b-docs"}})
	require.NoError(t, err)
	for _, b := range kept {
		k := b.Master + " " + b.Builder + " #" + fmt.Sprint(b.Number)
		if !b.Done() {
			leftKeys = append(leftKeys, k)
			continue
		}
		// What its file holds counts as seen: the kill can come between an
		// event's acknowledgement (after the file holds it) and its line on
		// the console, and an acknowledged event does not come again.
		frontSaw[k] = b.Result.String()
	}
	assert.Contains(t, leftKeys, onB, "a restarted front end shows master-b's build running")
	require.NoError(t, mem.Close(context.Background()))
	front = startFront()
	fronts = append(fronts, front)

	for _, m := range []*child{a, b} {
		m.waitLine(m.name + ": done")
		builds(publishedLine, m.waitFor("the end", func([]string) bool { return true }), published)
	}
	require.GreaterOrEqual(t, len(published), 6+4+1+1, "builds published: %v", published)
	assert.Equal(t, "exception", published[running], "master-a's second process ends %s", running)

	// The front end shows everything published (some builds twice: those
	// its first process showed but had not acknowledged).
	front.waitFor("every published build", func(lines []string) bool {
		got := maps.Clone(frontSaw)
		builds(frontLine, lines, got)
		for k, result := range published {
			if got[k] != result {
				return false
			}
		}
		return true
	})
	front.stop()
	for i, f := range fronts {
		assert.NotContains(t, f.stderr.String(), `msg="store:`, "front end process %d logged a store warning", i+1)
	}

	// Its history file has every build both masters published, with the
	// result they published, and none running: the one the kill of
	// master-a left running ended as interrupted, and no other.
	mem, err = store.OpenMemory(history, store.MemoryOptions{})
	require.NoError(t, err)
	defer mem.Close(context.Background())
	inFile := map[string]*status.Build{}
	bs, err := mem.Builds(context.Background(), status.BuildQuery{Builders: []string{"a-linux", "a-docs", "b-linux", "b-docs"}})
	require.NoError(t, err)
	for _, b := range bs {
		k := b.Master + " " + b.Builder + " #" + fmt.Sprint(b.Number)
		inFile[k] = b
		assert.True(t, b.Done(), "%s is still running in the front end's history", k)
		assert.Equal(t, k == running, slices.Contains(b.Text, store.InterruptedText), "%s: %v", k, b.Text)
	}
	for k, result := range published {
		if assert.Contains(t, inFile, k, "published but not in the front end's history") {
			assert.Equal(t, result, inFile[k].Result.String(), k)
		}
	}
	t.Logf("%d builds published, %d builds in the front end's history; %s was interrupted; %s ran across the front end's restart",
		len(published), len(inFile), running, onB)
}
