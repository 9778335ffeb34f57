package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireServersEnv is the environment variable that turns a missing server
// from a skip into a failure (make test and CI set it to 1).
const RequireServersEnv = "HERALD_REQUIRE_SERVERS"

// NeedBinary returns the path of an executable a test needs (a real server:
// ngircd, mailpit, chromium), looking in PATH, then in $GOBIN and
// $GOPATH/bin (for go-installed tools), then in /usr/sbin and /sbin (daemons
// installed by apt, outside a normal user's PATH). When it is missing the test is
// skipped with install, the command that installs it, unless
// HERALD_REQUIRE_SERVERS=1, where the test fails.
func NeedBinary(t testing.TB, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range goBinDirs() {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	Missing(t, name+" is not installed: "+install+" (or run make test)")
	return ""
}

// Missing skips the test (or fails it under HERALD_REQUIRE_SERVERS=1) for a
// missing real counterpart, saying why.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(RequireServersEnv) == "1" {
		t.Fatalf("%s; %s=1 requires every server", why, RequireServersEnv)
	}
	t.Skip(why)
}

func goBinDirs() []string {
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, p := range filepath.SplitList(gopath) {
		dirs = append(dirs, filepath.Join(p, "bin"))
	}
	return append(dirs, "/usr/sbin", "/sbin")
}
