package gerrit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/heraldci/herald/status"
)

// hardMessages are review messages a shell or a naive quoting would mangle.
var hardMessages = map[string]string{
	"plain":         "Build succeeded",
	"single-quotes": "it's 'quoted' and ends with '",
	"double-quotes": `say "hello" and \"escaped\"`,
	"newlines":      "line one\nline two\n\nlast line\n",
	"dollar":        "costs $HOME ${PATH} $(id) $1 $$",
	"backticks":     "run `id` and ``nested``",
	"backslashes":   `C:\path\to\file \\ \n \' \`,
	"non-ascii":     "Zürich ✓ 日本語 🚀 — ça marche",
	"leading-dash":  "--label Code-Review=+2",
	"injection":     "'; gerrit review --submit 1,1; echo '",
	"tabs-cr":       "a\tb\r\nc  d",
	"globs":         "*.go ?x [abc] {a,b} ~root #not-a-comment !1 a|b a&b a;b <in >out (sub)",
}

func TestSSHReviewArgvExact(t *testing.T) {
	env := newSSHEnv(t)
	for name, msg := range hardMessages {
		t.Run(name, func(t *testing.T) {
			r := mustNew(t, Options{SSH: env.ssh(), Review: func(*status.Build) Review {
				return Review{Message: msg, Labels: map[string]int{"Verified": -1, "Code-Review": 0}}
			}})
			n := len(env.srv.Reviews())
			if err := report(t, r, finished(gerritBuild("linux", 7).Failed().Build())); err != nil {
				t.Fatalf("Report: %v", err)
			}
			got := env.srv.Reviews()
			if len(got) != n+1 {
				t.Fatalf("server recorded %d reviews, want %d", len(got), n+1)
			}
			want := []string{
				"gerrit", "review", "--project", testProject, "--message", msg,
				"--label", "Code-Review=0", "--label", "Verified=-1",
				"--tag", DefaultTag, "4711,3",
			}
			rv := got[n]
			if !slices.Equal(rv.Argv, want) {
				t.Errorf("Gerrit's argv:\n got %q\nwant %q", rv.Argv, want)
			}
			if rv.Message != msg || rv.User != "herald-bot" {
				t.Errorf("message %q by %q, want %q by herald-bot", rv.Message, rv.User, msg)
			}
			// The same line means the same argv to a POSIX shell.
			sh, err := splitPOSIX(rv.Command)
			if err != nil || !slices.Equal(sh, want) {
				t.Errorf("POSIX split of %q = %q, %v; want %q", rv.Command, sh, err, want)
			}
		})
	}
}

func TestSSHCommandGolden(t *testing.T) {
	env := newSSHEnv(t)
	r := mustNew(t, Options{SSH: env.ssh(), Notify: NotifyOwner, Review: func(*status.Build) Review {
		return Review{Message: hardMessages["injection"] + "\n" + hardMessages["non-ascii"], Labels: map[string]int{"Verified": 1}}
	}})
	if err := report(t, r, finished(gerritBuild("linux", 7).Succeeded().Build())); err != nil {
		t.Fatal(err)
	}
	golden(t, "ssh-command.golden", env.srv.Reviews()[0].Command+"\n")
}

func TestSSHDefaultSummaryOnly(t *testing.T) {
	env := newSSHEnv(t)
	r := mustNew(t, Options{SSH: env.ssh()})
	linux := gerritBuild("linux", 7).Succeeded().Build()
	win := gerritBuild("windows", 3).Step("test", status.Failure).Failed().Build()
	for _, e := range []status.Event{started(linux), finished(linux), finished(win)} {
		if err := report(t, r, e); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(env.srv.Reviews()); n != 0 {
		t.Fatalf("%d reviews before the build set finished; the default is one summary", n)
	}
	if err := report(t, r, buildSetFinished(win, linux)); err != nil {
		t.Fatal(err)
	}
	got := env.srv.Reviews()
	if len(got) != 1 {
		t.Fatalf("%d reviews, want 1", len(got))
	}
	want := "Builder linux succeeded (build success) - https://ci.example.org/builders/linux/builds/7\n\n" +
		"Builder windows failed (failed test) - https://ci.example.org/builders/windows/builds/3"
	if got[0].Message != want || got[0].Labels["Verified"] != -1 || got[0].Targets[0] != "4711,3" {
		t.Errorf("summary = %q %v on %v\nwant %q Verified=-1 on 4711,3", got[0].Message, got[0].Labels, got[0].Targets, want)
	}
}

func TestSSHStartMessageOnly(t *testing.T) {
	env := newSSHEnv(t)
	calls := 0
	r := mustNew(t, Options{SSH: env.ssh(), Tag: "-", StartMessage: status.RenderFunc(func(b *status.Build) string {
		calls++
		return "Build started on " + b.Builder + " #" + strconv.Itoa(b.Number)
	})})
	if err := report(t, r, started(gerritBuild("linux", 9).Build())); err != nil {
		t.Fatal(err)
	}
	// A build that is not Gerrit's: skipped without asking the callback.
	if err := report(t, r, started(withoutGerrit(gerritBuild("linux", 10).Build()))); err != nil {
		t.Fatal(err)
	}
	got := env.srv.Reviews()
	want := []string{"gerrit", "review", "--project", testProject, "--message", "Build started on linux #9", "4711,3"}
	if len(got) != 1 || !slices.Equal(got[0].Argv, want) || calls != 1 {
		t.Fatalf("reviews %+v (callback ran %d times), want one with argv %q", got, calls, want)
	}
}

func TestSSHNothingToSend(t *testing.T) {
	env := newSSHEnv(t)
	r := mustNew(t, Options{SSH: env.ssh(), Review: DefaultReview})
	// DefaultReview says nothing about a build that will be retried.
	if err := report(t, r, finished(gerritBuild("linux", 7).Result(status.Retry).Build())); err != nil {
		t.Fatal(err)
	}
	select {
	case cmd := <-env.srv.received:
		t.Fatalf("sent %q for an empty review", cmd)
	default:
	}
	// Labels only: a vote without a message.
	r = mustNew(t, Options{SSH: env.ssh(), Review: func(*status.Build) Review {
		return Review{Labels: map[string]int{"Verified": 1}}
	}})
	if err := report(t, r, finished(gerritBuild("linux", 8).Succeeded().Build())); err != nil {
		t.Fatal(err)
	}
	got := env.srv.Reviews()
	if len(got) != 1 || got[0].Message != "" || got[0].Labels["Verified"] != 1 || slices.Contains(got[0].Argv, "--message") {
		t.Fatalf("reviews %+v, want one vote without --message", got)
	}
}

func TestSSHRevisionFallback(t *testing.T) {
	env := newSSHEnv(t)
	r := mustNew(t, Options{SSH: env.ssh(), Review: DefaultReview})
	// Buildbot 0.8.12 style: gerrit_branch marks the build, the commit comes
	// from the source stamp and the project from its project.
	b := withoutGerrit(gerritBuild("linux", 7).Succeeded().Build())
	b.Properties = map[string]any{"gerrit_branch": "main"}
	if err := report(t, r, finished(b)); err != nil {
		t.Fatal(err)
	}
	got := env.srv.Reviews()
	if len(got) != 1 || got[0].Project != "repo" || !slices.Equal(got[0].Targets, []string{testCommit}) {
		t.Fatalf("reviews %+v, want one on repo %s", got, testCommit)
	}
}

func TestSSHHostKeyRefused(t *testing.T) {
	env := newSSHEnv(t)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := ssh.NewSignerFromKey(other)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mismatch := write("mismatch", knownhosts.Line([]string{knownhosts.Normalize(env.srv.Addr())}, otherSigner.PublicKey())+"\n")
	unknown := write("unknown", knownhosts.Line([]string{"[gerrit.example.org]:29418"}, env.srv.hostKey.PublicKey())+"\n")
	for _, tc := range []struct {
		name string
		set  func(*SSH)
		want string
	}{
		{"known_hosts mismatch", func(o *SSH) { o.KnownHosts = mismatch }, "does not match " + mismatch + " line 1"},
		{"not in known_hosts", func(o *SSH) { o.KnownHosts = unknown }, "is not in " + unknown},
		{"pinned mismatch", func(o *SSH) {
			o.KnownHosts, o.HostKey = "", string(ssh.MarshalAuthorizedKey(otherSigner.PublicKey()))
		}, "not the key in SSH.HostKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := env.ssh()
			tc.set(o)
			r := mustNew(t, Options{SSH: o})
			err := report(t, r, buildSetFinished(gerritBuild("linux", 1).Succeeded().Build()))
			if !errors.Is(err, ErrHostKey) || status.IsRetryable(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Report = %v; want a permanent ErrHostKey saying %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), ssh.FingerprintSHA256(env.srv.hostKey.PublicKey())) {
				t.Errorf("error does not show the presented key's fingerprint: %v", err)
			}
			select {
			case cmd := <-env.srv.received:
				t.Fatalf("command %q reached an unverified server", cmd)
			default:
			}
		})
	}
	t.Run("pinned match", func(t *testing.T) {
		o := env.ssh()
		o.KnownHosts, o.HostKey = "", string(ssh.MarshalAuthorizedKey(env.srv.hostKey.PublicKey()))
		if err := report(t, mustNew(t, Options{SSH: o}), buildSetFinished(gerritBuild("linux", 1).Succeeded().Build())); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSSHAuthRefused(t *testing.T) {
	env := newSSHEnv(t)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(stranger, "")
	o := env.ssh()
	o.Key = status.Secret(pem.EncodeToMemory(block))
	err := report(t, mustNew(t, Options{SSH: o}), buildSetFinished(gerritBuild("linux", 1).Succeeded().Build()))
	if !errors.Is(err, ErrAuth) || status.IsRetryable(err) || !strings.Contains(err.Error(), `"herald-bot"`) {
		t.Fatalf("Report = %v; want a permanent ErrAuth naming the user", err)
	}
}

func TestSSHUnknownChange(t *testing.T) {
	env := newSSHEnv(t)
	r := mustNew(t, Options{SSH: env.ssh()})
	b := gerritBuild("linux", 1).Property("event.change.number", "999").Succeeded().Build()
	err := report(t, r, buildSetFinished(b))
	if !errors.Is(err, status.ErrNotFound) || status.IsRetryable(err) ||
		!strings.Contains(err.Error(), `"999,3" no such patch set`) || !strings.Contains(err.Error(), "status 1") {
		t.Fatalf("Report = %v; want a permanent status.ErrNotFound with Gerrit's stderr", err)
	}
}

func TestSSHUnknownProject(t *testing.T) {
	env := newSSHEnv(t)
	r := mustNew(t, Options{SSH: env.ssh()})
	b := gerritBuild("linux", 1).Property("event.change.project", "no/such").Succeeded().Build()
	err := report(t, r, buildSetFinished(b))
	if !errors.Is(err, status.ErrNotFound) || status.IsRetryable(err) || !strings.Contains(err.Error(), "project no/such not found") {
		t.Fatalf("Report = %v; want a permanent status.ErrNotFound with Gerrit's stderr", err)
	}
}

func TestSSHTransientFailures(t *testing.T) {
	env := newSSHEnv(t)
	r := mustNew(t, Options{SSH: env.ssh()})
	ev := buildSetFinished(gerritBuild("linux", 1).Succeeded().Build())

	t.Run("overloaded", func(t *testing.T) {
		env.srv.SetHook(func(_ string, ch ssh.Channel, _ <-chan struct{}) bool {
			_, _ = ch.Stderr().Write([]byte("fatal: Too many concurrent connections (4) - max. allowed: 4\n"))
			exit(ch, 1)
			return true
		})
		if err := report(t, r, ev); !status.IsRetryable(err) || !strings.Contains(err.Error(), "Too many concurrent connections") {
			t.Fatalf("Report = %v; want retryable with Gerrit's message", err)
		}
	})
	t.Run("dropped", func(t *testing.T) {
		env.srv.SetHook(func(_ string, ch ssh.Channel, _ <-chan struct{}) bool {
			return true // close the channel without an exit status
		})
		if err := report(t, r, ev); !status.IsRetryable(err) {
			t.Fatalf("Report = %v; want retryable", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		o := env.ssh()
		o.Port = port
		if err := report(t, mustNew(t, Options{SSH: o}), ev); !status.IsRetryable(err) || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("Report = %v; want retryable connection refused", err)
		}
	})
	env.srv.SetHook(nil)
	if err := report(t, r, ev); err != nil {
		t.Fatalf("after the faults: %v", err)
	}
}

// holdCommands makes the server sit on every command until the client
// goes away.
func holdCommands(srv *fakeSSHD) {
	srv.SetHook(func(_ string, _ ssh.Channel, connDone <-chan struct{}) bool {
		<-connDone
		return true
	})
}

func TestSSHCancelAndTimeout(t *testing.T) {
	env := newSSHEnv(t)
	holdCommands(env.srv)
	ev := buildSetFinished(gerritBuild("linux", 1).Succeeded().Build())

	t.Run("cancel", func(t *testing.T) {
		r := mustNew(t, Options{SSH: env.ssh()})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Report(ctx, ev) }()
		<-env.srv.received // the command is running on the server
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) || status.IsRetryable(err) {
				t.Fatalf("Report = %v; want context.Canceled, not retryable", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Report did not return after cancel")
		}
	})
	t.Run("caller deadline", func(t *testing.T) {
		r := mustNew(t, Options{SSH: env.ssh()})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		err := r.Report(ctx, ev)
		<-env.srv.received
		if !errors.Is(err, context.DeadlineExceeded) || !status.IsRetryable(err) {
			t.Fatalf("Report = %v; want a retryable deadline error", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		r := mustNew(t, Options{SSH: env.ssh(), Timeout: 300 * time.Millisecond})
		err := report(t, r, ev)
		<-env.srv.received
		if !status.IsRetryable(err) || !strings.Contains(err.Error(), "timed out after 300ms") {
			t.Fatalf("Report = %v; want a retryable timeout", err)
		}
	})
}

func TestSSHAgent(t *testing.T) {
	env := newSSHEnv(t)
	sock := startAgent(t, env.clientKey)
	o := env.ssh()
	o.Key, o.Agent, o.AgentSocket = "", true, sock
	if err := report(t, mustNew(t, Options{SSH: o}), buildSetFinished(gerritBuild("linux", 1).Succeeded().Build())); err != nil {
		t.Fatalf("Report with the agent's key: %v", err)
	}
	if len(env.srv.Reviews()) != 1 {
		t.Fatal("no review recorded")
	}
}

// TestSSHEncryptedIdentityFile uses a key made with
//
//	ssh-keygen -t ed25519 -a 1 -N 'correct horse' -f testdata/id_ed25519_encrypted
//
// (one KDF round, so the test does not spend seconds in bcrypt; it is a
// test-only key that no server trusts).
func TestSSHEncryptedIdentityFile(t *testing.T) {
	env := newSSHEnv(t)
	pub, err := os.ReadFile("testdata/id_ed25519_encrypted.pub")
	if err != nil {
		t.Fatal(err)
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	env.srv.Authorize(key)
	o := env.ssh()
	o.Key, o.IdentityFile = "", "testdata/id_ed25519_encrypted"
	if _, err := New(Options{SSH: o}); err == nil || !strings.Contains(err.Error(), "is encrypted: set SSH.Passphrase") {
		t.Fatalf("New without passphrase = %v", err)
	}
	o.Passphrase = "wrong"
	if _, err := New(Options{SSH: o}); err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
		t.Fatalf("New with a wrong passphrase = %v", err)
	}
	o.Passphrase = "correct horse"
	if err := report(t, mustNew(t, Options{SSH: o}), buildSetFinished(gerritBuild("linux", 1).Succeeded().Build())); err != nil {
		t.Fatal(err)
	}
	if got := env.srv.Reviews(); len(got) != 1 {
		t.Fatalf("%d reviews, want 1", len(got))
	}
}

// startAgent serves an ssh-agent holding key on a Unix socket and returns
// the socket's path.
func startAgent(t testing.TB, key any) string {
	t.Helper()
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); _ = agent.ServeAgent(keyring, c) }()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	return sock
}
