package gerrit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/heraldci/herald/status"
)

// gerritOnDefaultPort is a fake Gerrit SSH daemon on port 29418 (the
// default), on a loopback address of its own so that it never meets
// another test's, with a home directory set up as OpenSSH users have it.
type gerritOnDefaultPort struct {
	*sshEnv
	host string // the server's address, without the port
	home string // $HOME, with an empty .ssh directory
}

func newGerritOnDefaultPort(t *testing.T) *gerritOnDefaultPort {
	var ln net.Listener
	var err error
	for range 20 {
		host := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(250), rand.IntN(256), 1+rand.IntN(250))
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(DefaultSSHPort))); err == nil {
			break
		}
	}
	require.NoError(t, err, "listening on port %d of a loopback address", DefaultSSHPort)
	env := newSSHEnvOn(t, newFakeSSHDOn(t, ln))

	home := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(home, ".ssh"), 0o700))
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	return &gerritOnDefaultPort{sshEnv: env, host: host, home: home}
}

// write puts a file under ~/.ssh.
func (g *gerritOnDefaultPort) write(t *testing.T, name, content string) {
	require.NoError(t, os.WriteFile(filepath.Join(g.home, ".ssh", name), []byte(content), 0o600))
}

// trustServer lists the server in ~/.ssh/known_hosts, as ssh-keyscan -p
// 29418 would.
func (g *gerritOnDefaultPort) trustServer(t *testing.T) {
	addr := net.JoinHostPort(g.host, fmt.Sprint(DefaultSSHPort))
	g.write(t, "known_hosts", knownhosts.Line([]string{knownhosts.Normalize(addr)}, g.srv.hostKey.PublicKey())+"\n")
}

// options names only the server and the account: everything else comes
// from OpenSSH's defaults.
func (g *gerritOnDefaultPort) options() Options {
	return Options{SSH: &SSH{Server: g.host, Username: "herald-bot"}}
}

func TestSSHDefaultsLikeOpenSSH(t *testing.T) {
	g := newGerritOnDefaultPort(t)
	g.trustServer(t)
	g.write(t, "id_ed25519", g.keyPEM)

	r, err := New(g.options())
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("gerrit ssh://herald-bot@%s:29418", g.host), r.String())
	require.NoError(t, report(t, r, buildSetFinished(gerritBuild("linux", 1).Succeeded().Build())))
	reviews := g.srv.Reviews()
	require.Len(t, reviews, 1)
	assert.Equal(t, "herald-bot", reviews[0].User)
	assert.Equal(t, map[string]int{"Verified": 1}, reviews[0].Labels)
}

func TestSSHDefaultsUseTheAgent(t *testing.T) {
	g := newGerritOnDefaultPort(t)
	g.trustServer(t)
	t.Setenv("SSH_AUTH_SOCK", startAgent(t, g.clientKey))

	r, err := New(g.options())
	require.NoError(t, err)
	require.NoError(t, report(t, r, buildSetFinished(gerritBuild("linux", 1).Succeeded().Build())))
	assert.Len(t, g.srv.Reviews(), 1)
}

func TestSSHDefaultsSkipAnEncryptedKey(t *testing.T) {
	g := newGerritOnDefaultPort(t)
	g.trustServer(t)
	enc, err := os.ReadFile("testdata/id_ed25519_encrypted")
	require.NoError(t, err)
	g.write(t, "id_ed25519", string(enc)) // no passphrase to open it with
	g.write(t, "id_rsa", g.keyPEM)        // the next key OpenSSH tries

	var logs bytes.Buffer
	o := g.options()
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	r, err := New(o)
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "id_ed25519 is encrypted")
	require.NoError(t, report(t, r, buildSetFinished(gerritBuild("linux", 1).Succeeded().Build())))
	assert.Len(t, g.srv.Reviews(), 1)
}

func TestSSHDefaultsStillVerifyTheHost(t *testing.T) {
	g := newGerritOnDefaultPort(t)
	g.write(t, "id_ed25519", g.keyPEM)

	// No known_hosts at all: refused up front, saying which file.
	_, err := New(g.options())
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(g.home, ".ssh", "known_hosts"))
	assert.Contains(t, err.Error(), "set SSH.KnownHosts")

	// A known_hosts that does not list this server: no review, a
	// permanent ErrHostKey.
	g.write(t, "known_hosts", "# nobody\n")
	r, err := New(g.options())
	require.NoError(t, err)
	err = report(t, r, buildSetFinished(gerritBuild("linux", 1).Succeeded().Build()))
	require.ErrorIs(t, err, ErrHostKey)
	assert.False(t, status.IsRetryable(err))
	assert.Empty(t, g.srv.Reviews())
}

func TestSSHDefaultsWithoutAnyKey(t *testing.T) {
	g := newGerritOnDefaultPort(t)
	g.trustServer(t)
	_, err := New(g.options())
	require.Error(t, err)
	for _, want := range []string{"no ssh-agent", filepath.Join(g.home, ".ssh", "id_ed25519"), filepath.Join(g.home, ".ssh", "id_rsa"), "set SSH.IdentityFile, SSH.Key or SSH.Agent"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SSH_AUTH_SOCK", "")
	_, err := New(Options{
		SSH:     &SSH{Server: "bot@review", Port: -1, IdentityFile: "/nonexistent/id"},
		Notify:  "everyone",
		Tag:     "has space",
		Timeout: -1,
	})
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	for _, want := range []string{"Options.Notify", "Options.Tag", "Options.Timeout", "SSH.Server", "SSH.Port", "SSH.Username", "SSH.IdentityFile", "known_hosts"} {
		assert.True(t, containsLine(lines, want), "no line about %s in:\n%v", want, err)
	}
	for _, l := range lines {
		assert.True(t, strings.HasPrefix(l, "gerrit: "), "line %q", l)
	}

	_, err = New(Options{REST: &REST{BaseURL: "ftp://x"}})
	require.Error(t, err)
	for _, want := range []string{"REST.BaseURL", "REST.Username", "REST.Password"} {
		assert.Contains(t, err.Error(), want)
	}
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestHandlesDeclaredKinds(t *testing.T) {
	f := newFakeREST(t)
	for _, tc := range []struct {
		name string
		o    Options
		want []status.Kind
	}{
		{"default summary", Options{}, []status.Kind{status.BuildSetFinished}},
		{"review only", Options{Review: DefaultReview}, []status.Kind{status.BuildFinished}},
		{"everything", Options{Review: DefaultReview, Summary: DefaultSummary, StartMessage: status.MustInterpolate("started")},
			[]status.Kind{status.BuildStarted, status.BuildFinished, status.BuildSetFinished}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.REST = f.rest()
			r, err := New(tc.o)
			require.NoError(t, err)
			var got []status.Kind
			for k := status.Kind(1); k < 64; k++ {
				if r.Handles(k) {
					got = append(got, k)
				}
			}
			assert.ElementsMatch(t, tc.want, got)
		})
	}
}

func TestNotFoundIsStatusErrNotFound(t *testing.T) {
	env := newSSHEnv(t)
	r := mustNew(t, Options{SSH: env.ssh(), Review: DefaultReview})
	b := gerritBuild("linux", 7).Property("event.change.number", 999).Succeeded().Build()
	err := r.Report(context.Background(), finished(b))
	require.ErrorIs(t, err, status.ErrNotFound)
	assert.False(t, errors.Is(err, ErrHostKey))
}
