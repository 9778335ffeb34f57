package gerrit

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestNewValidation(t *testing.T) {
	// No OpenSSH defaults to fall back on: an empty home, no agent.
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SSH_AUTH_SOCK", "")
	env := newSSHEnv(t)
	f := newFakeREST(t)
	for _, tc := range []struct {
		name string
		o    func() Options
		want string
	}{
		{"no transport", func() Options { return Options{} }, "set Options.SSH"},
		{"both transports", func() Options { return Options{SSH: env.ssh(), REST: f.rest()} }, "choose one transport"},
		{"no server", func() Options { o := env.ssh(); o.Server = ""; return Options{SSH: o} }, "SSH.Server is empty"},
		{"user in server", func() Options { o := env.ssh(); o.Server = "bot@gerrit"; return Options{SSH: o} }, "SSH.Username"},
		{"bad port", func() Options { o := env.ssh(); o.Port = 70000; return Options{SSH: o} }, "SSH.Port 70000"},
		{"no username", func() Options { o := env.ssh(); o.Username = ""; return Options{SSH: o} }, "SSH.Username is empty"},
		{"no key", func() Options { o := env.ssh(); o.Key = ""; return Options{SSH: o} }, "set SSH.IdentityFile, SSH.Key or SSH.Agent"},
		{"bad key", func() Options { o := env.ssh(); o.Key = "not a key"; return Options{SSH: o} }, "SSH.Key is not a private key"},
		{"missing identity file", func() Options { o := env.ssh(); o.IdentityFile = "/nonexistent/id"; return Options{SSH: o} }, "SSH.IdentityFile"},
		{"agent without socket", func() Options {
			t.Setenv("SSH_AUTH_SOCK", "")
			o := env.ssh()
			o.Key, o.Agent = "", true
			return Options{SSH: o}
		}, "SSH_AUTH_SOCK is empty"},
		{"no host verification", func() Options { o := env.ssh(); o.KnownHosts = ""; return Options{SSH: o} }, "set SSH.KnownHosts"},
		{"two host verifications", func() Options { o := env.ssh(); o.InsecureIgnoreHostKey = true; return Options{SSH: o} }, "only one of"},
		{"missing known_hosts", func() Options { o := env.ssh(); o.KnownHosts = "/nonexistent/known_hosts"; return Options{SSH: o} }, "SSH.KnownHosts"},
		{"bad host key", func() Options {
			o := env.ssh()
			o.KnownHosts, o.HostKey = "", "ssh-ed25519 !!!"
			return Options{SSH: o}
		}, "SSH.HostKey is not a public key"},
		{"no base url", func() Options { o := f.rest(); o.BaseURL = ""; return Options{REST: o} }, "REST.BaseURL is empty"},
		{"relative base url", func() Options { o := f.rest(); o.BaseURL = "review.example.org"; return Options{REST: o} }, "not an http(s) URL"},
		{"credentials in url", func() Options {
			o := f.rest()
			o.BaseURL = "https://bot:pw@review.example.org/"
			return Options{REST: o}
		}, "contains credentials"},
		{"no rest user", func() Options { o := f.rest(); o.Username = ""; return Options{REST: o} }, "REST.Username is empty"},
		{"no password", func() Options { o := f.rest(); o.Password = ""; return Options{REST: o} }, "HTTP Credentials"},
		{"bad notify", func() Options { return Options{REST: f.rest(), Notify: "everyone"} }, "Options.Notify"},
		{"bad tag", func() Options { return Options{REST: f.rest(), Tag: "has space"} }, "Options.Tag"},
		{"negative timeout", func() Options { return Options{REST: f.rest(), Timeout: -1} }, "Options.Timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.o())
			if err == nil || !strings.HasPrefix(err.Error(), "gerrit: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error saying %q", r, err, tc.want)
			}
		})
	}
}

func TestInsecureIgnoreHostKeyWarns(t *testing.T) {
	env := newSSHEnv(t)
	var logs bytes.Buffer
	o := env.ssh()
	o.KnownHosts, o.InsecureIgnoreHostKey = "", true
	r := mustNew(t, Options{SSH: o, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "verification is disabled") {
		t.Errorf("no warning logged: %q", logs.String())
	}
	if err := report(t, r, buildSetFinished(gerritBuild("linux", 1).Succeeded().Build())); err != nil {
		t.Fatal(err)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	env := newSSHEnv(t)
	f := newFakeREST(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sshOpts := env.ssh()
	restOpts := f.rest()
	wrongREST := f.rest()
	wrongREST.Password = "another-secret-password"
	secrets := []string{f.pass, "another-secret-password"}
	for _, line := range strings.Split(env.keyPEM, "\n") {
		if len(line) > 20 { // the key's base64 lines
			secrets = append(secrets, line)
		}
	}
	var out strings.Builder
	for _, o := range []Options{{SSH: sshOpts}, {REST: restOpts}, {REST: wrongREST}} {
		o.Logger = logger
		r := mustNew(t, o)
		fmt.Fprintf(&out, "%v %+v %#v %s\n", r, r, o, r)
		logger.Info("configured", "options", o, "rest", o.REST, "ssh", o.SSH)
		if err := report(t, r, buildSetFinished(gerritBuild("linux", 1).Succeeded().Build())); err != nil {
			fmt.Fprintf(&out, "%v\n", err)
		}
	}
	// A failing New must not echo the key or the passphrase either.
	bad := env.ssh()
	bad.Key += "garbage"
	if _, err := New(Options{SSH: bad}); err != nil {
		fmt.Fprintf(&out, "%v\n", err)
	}
	enc := env.ssh()
	enc.Key, enc.IdentityFile, enc.Passphrase = "", "testdata/id_ed25519_encrypted", "correct horse"
	secrets = append(secrets, "correct horse", "wrong horse")
	fmt.Fprintf(&out, "%v %+v\n", mustNew(t, Options{SSH: enc}), enc)
	enc.Passphrase = "wrong horse"
	if _, err := New(Options{SSH: enc}); err != nil {
		fmt.Fprintf(&out, "%v %#v\n", err, enc)
	}
	all := out.String() + logs.String()
	if !strings.Contains(all, "REST.Password") {
		t.Fatalf("the wrong password did not fail as expected: %s", all)
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("secret %.12q... leaked into:\n%s", s, all)
		}
	}
}

func TestConformanceSSH(t *testing.T) {
	env := newSSHEnv(t)
	// Conformance builds carry no Gerrit properties: mark them as Gerrit's
	// (review their commit, project "repo") so every callback really posts.
	statustest.Conformance(t, func() status.Reporter {
		return mustNew(t, Options{
			SSH:          env.ssh(),
			Properties:   Properties{Branch: []string{"owner"}},
			Review:       DefaultReview,
			Summary:      DefaultSummary,
			StartMessage: status.RenderFunc(func(b *status.Build) string { return "started " + b.Builder }),
		})
	})
	if len(env.srv.Reviews()) == 0 {
		t.Error("conformance posted no review: the check proved nothing")
	}
}

func TestConformanceREST(t *testing.T) {
	f := newFakeREST(t)
	// Conformance builds have no change number, which REST needs: every
	// review fails permanently, which Conformance allows; the check is
	// about cancellation, concurrency and leaks.
	statustest.Conformance(t, func() status.Reporter {
		return mustNew(t, Options{
			REST:         f.rest(),
			Properties:   Properties{Branch: []string{"owner"}},
			Review:       DefaultReview,
			StartMessage: status.RenderFunc(func(b *status.Build) string { return "started " + b.Builder }),
		})
	})
}

func TestReportIgnoresOtherKinds(t *testing.T) {
	calls := 0
	r := mustNew(t, Options{REST: newFakeREST(t).rest(), Review: func(*status.Build) Review {
		calls++
		return Review{}
	}})
	b := gerritBuild("linux", 1).Step("compile", status.Success).Succeeded()
	for _, e := range b.Events() {
		if e.Kind == status.BuildFinished {
			continue
		}
		if err := r.Report(context.Background(), e); err != nil {
			t.Fatalf("%v: %v", e.Kind, err)
		}
	}
	if calls != 0 {
		t.Errorf("Review ran %d times for events other than BuildFinished", calls)
	}
}

// Given no logger, the reporter logs through the Hub's, named.
func TestLogsThroughTheHub(t *testing.T) {
	f := newFakeREST(t)
	r := mustNew(t, Options{REST: f.rest()})
	lines := testkit.HubLog(t, r, buildSetFinished(gerritBuild("linux", 7).Succeeded().Build()))
	assert.Contains(t, lines, testkit.LogLine{Level: "DEBUG", Reporter: "gerrit", Msg: "gerrit: review posted"})
}
