package gerrit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/heraldci/herald/internal/testkit"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// The change every test build is about.
const (
	testProject  = "infra/herald"
	testChange   = 4711
	testPatchSet = 3
	testCommit   = "0123456789abcdef0123456789abcdef01234567" // statustest's revision
)

// sshEnv is a fake Gerrit SSH daemon with a client key it accepts and a
// known_hosts file that lists it.
type sshEnv struct {
	srv        *fakeSSHD
	clientKey  ed25519.PrivateKey
	keyPEM     string
	knownHosts string
}

func newSSHEnv(t testing.TB) *sshEnv {
	t.Helper()
	return newSSHEnvOn(t, newFakeSSHD(t))
}

// newSSHEnvOn is newSSHEnv with a given server.
func newSSHEnvOn(t testing.TB, srv *fakeSSHD) *sshEnv {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	srv.Authorize(signer.PublicKey())
	block, err := ssh.MarshalPrivateKey(priv, "herald-test")
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(srv.Addr())}, srv.hostKey.PublicKey())
	if err := os.WriteFile(kh, []byte("# test\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.AddPatchSet(testProject, testChange, testPatchSet, "")
	srv.AddPatchSet("repo", 1, 1, testCommit)
	return &sshEnv{srv: srv, clientKey: priv, keyPEM: string(pem.EncodeToMemory(block)), knownHosts: kh}
}

func (e *sshEnv) ssh() *SSH {
	return &SSH{
		Server:     "127.0.0.1",
		Port:       e.srv.Port(),
		Username:   "herald-bot",
		Key:        status.Secret(e.keyPEM),
		KnownHosts: e.knownHosts,
	}
}

func mustNew(t testing.TB, o Options) *Reporter {
	t.Helper()
	r, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// gerritBuild is a build of testChange,testPatchSet as a Gerrit change
// source would set it up.
func gerritBuild(builder string, number int) *statustest.FakeBuild {
	return statustest.NewBuild(builder).Number(number).
		URL(fmt.Sprintf("https://ci.example.org/builders/%s/builds/%d", builder, number)).
		Property("event.change.number", testChange).
		Property("event.patchSet.number", float64(testPatchSet)). // as decoded from JSON
		Property("event.change.project", testProject)
}

func finished(b *status.Build) status.Event {
	return status.Event{Kind: status.BuildFinished, Time: b.Finished, Build: b}
}

func started(b *status.Build) status.Event {
	return status.Event{Kind: status.BuildStarted, Time: b.Started, Build: b}
}

func buildSetFinished(builds ...*status.Build) status.Event {
	bs := &status.BuildSet{ID: "bs1", Reason: "gerrit", Submitted: statustest.Epoch, Builds: builds}
	for _, b := range builds {
		bs.Builders = append(bs.Builders, b.Builder)
		bs.Result = status.Worst(bs.Result, b.Result)
		bs.Finished = b.Finished
	}
	return status.Event{Kind: status.BuildSetFinished, Time: bs.Finished, BuildSet: bs}
}

func report(t testing.TB, r *Reporter, e status.Event) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.Report(ctx, e)
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	testkit.Golden(t, *update, name, []byte(got))
}

// withoutGerrit drops b's properties: a build no Gerrit change source made.
func withoutGerrit(b *status.Build) *status.Build {
	b.Properties = nil
	return b
}
