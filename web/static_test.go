package web

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeFiles makes a directory holding files (name → content).
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

// PublicHTML serves its files, but never dotfiles, and never a file a
// symbolic link reaches outside the directory; links inside it work.
func TestPublicHTMLConfined(t *testing.T) {
	secret := writeFiles(t, map[string]string{"passwd": "root:SECRET"})
	pub := writeFiles(t, map[string]string{
		"page.html":   "<p>public page</p>",
		".htpasswd":   "alice:SECRET",
		".git/config": "[remote] url = SECRET",
		"sub/.env":    "TOKEN=SECRET",
	})
	require.NoError(t, os.Symlink(filepath.Join(secret, "passwd"), filepath.Join(pub, "leak.txt")))
	require.NoError(t, os.Symlink(secret, filepath.Join(pub, "outside")))
	require.NoError(t, os.Symlink("page.html", filepath.Join(pub, "alias.html")))

	s, _ := newTestServer(t, Options{PublicHTML: pub})
	base := "http://" + listenLoopback(t, s)
	fetchBody := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/page.html", "/alias.html"} {
		code, body := fetchBody(path)
		assert.Equal(t, http.StatusOK, code, path)
		assert.Contains(t, body, "public page", path)
	}
	for _, path := range []string{"/.htpasswd", "/.git/config", "/sub/.env", "/%2Ehtpasswd", "/leak.txt", "/outside/passwd"} {
		code, body := fetchBody(path)
		assert.Equal(t, http.StatusNotFound, code, path)
		assert.NotContains(t, body, "SECRET", path)
	}
}

func TestPublicHTMLMissing(t *testing.T) {
	_, err := New(Options{History: fixture(), PublicHTML: filepath.Join(t.TempDir(), "nope")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Options.PublicHTML")
}
