package status_test

import (
	"fmt"
	"log/slog"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestLinks(t *testing.T) {
	ref := status.LogRef{Builder: "team/linux", Build: 7, Step: "unit tests", Name: "stdio"}
	for _, base := range []string{"https://ci.example.org", "https://ci.example.org/"} {
		l := status.Links{Base: base}
		assert.Equal(t, "https://ci.example.org/", l.Home())
		assert.Equal(t, "https://ci.example.org/builders/team%2Flinux", l.Builder("team/linux"))
		assert.Equal(t, "https://ci.example.org/builders/team%2Flinux/builds/7", l.Build("team/linux", 7))
		assert.Equal(t, "https://ci.example.org/builders/team%2Flinux/builds/7/steps/unit%20tests", l.Step("team/linux", 7, "unit tests"))
		assert.Equal(t, "https://ci.example.org/builders/team%2Flinux/builds/7/steps/unit%20tests/logs/stdio", l.Log(ref))
		assert.Equal(t, "https://ci.example.org/changes/42", l.Change(42))
		assert.Equal(t, "https://ci.example.org/buildslaves#w%201", l.Worker("w 1"))
	}
	// A prefix stays; the zero value gives root-relative paths.
	assert.Equal(t, "https://example.org/ci/builders/b/builds/1", status.Links{Base: "https://example.org/ci/"}.Build("b", 1))
	assert.Equal(t, "/changes/3", status.Links{}.Change(3))
}

// A hostile name stays inside its path segment: parsing the URL back gives
// the name, and nothing leaks into the query or fragment.
func TestLinksEscapeNames(t *testing.T) {
	l := status.Links{Base: "https://ci.example.org"}
	for _, name := range []string{"a/b", "../x", "a?b=c", "a#b", "100%", "é ü", "a;b", ""} {
		u, err := url.Parse(l.Builder(name))
		require.NoError(t, err, name)
		assert.Empty(t, u.RawQuery, name)
		assert.Empty(t, u.Fragment, name)
		assert.Equal(t, "/builders/"+name, u.Path, name)
	}
}

func ExampleLinks() {
	l := status.Links{Base: "https://ci.example.org/"}
	fmt.Println(l.Build("linux", 12))
	fmt.Println(l.Log(status.LogRef{Builder: "linux", Build: 12, Step: "test", Name: "stdio"}))
	// Output:
	// https://ci.example.org/builders/linux/builds/12
	// https://ci.example.org/builders/linux/builds/12/steps/test/logs/stdio
}

func TestHubGivesBuildsTheirWebPage(t *testing.T) {
	var rec statustest.Recorder
	hub := status.NewHub(status.HubOptions{WebURL: "https://example.org/ci/", Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, hub.Add(&rec))
	linux := &status.Build{Builder: "team/linux", Number: 7}
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: linux})
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: &status.Build{Builder: "docs", Number: 2, URL: "https://elsewhere.example.org/2"}})
	hub.Publish(status.Event{Kind: status.StepStarted, Build: linux, Step: &status.Step{Name: "compile"}})
	shutdown(t, hub)

	var urls []string
	for _, e := range rec.Events() {
		urls = append(urls, e.Build.URL)
	}
	assert.Equal(t, []string{
		"https://example.org/ci/builders/team%2Flinux/builds/7",
		"https://elsewhere.example.org/2", // the host's own is kept
		"https://example.org/ci/builders/team%2Flinux/builds/7",
	}, urls)
	assert.Equal(t, status.Links{Base: "https://example.org/ci"}.Build("team/linux", 7), linux.URL,
		"the host's build is filled in place, as Links builds it")
}

func TestHubWithoutWebURLLeavesURLsAlone(t *testing.T) {
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler)})
	b := &status.Build{Builder: "linux", Number: 1}
	hub.Publish(status.Event{Kind: status.BuildStarted, Build: b})
	shutdown(t, hub)
	assert.Empty(t, b.URL)
}
