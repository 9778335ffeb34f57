package forge_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/bitbucket"
	"github.com/heraldci/herald/gitea"
	"github.com/heraldci/herald/github"
	"github.com/heraldci/herald/gitlab"
	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/stash"
	"github.com/heraldci/herald/status"
)

// Given no logger, every target built on forge.Shell logs through the
// Hub's, named: here the line about a build it sets no status for.
func TestTargetsLogThroughTheHub(t *testing.T) {
	unrevisioned := &status.Build{Builder: "linux", Number: 1,
		Sources: []status.SourceStamp{{Repository: "https://example.org/o/r"}}}
	for _, tc := range []struct {
		new func() (forge.Target, error)
		b   *status.Build
		msg string
	}{
		{func() (forge.Target, error) { return github.New(github.Options{Token: "t"}) },
			unrevisioned, "github: build has no source stamp with a revision, no status set"},
		{func() (forge.Target, error) {
			return stash.New(stash.Options{BaseURL: "https://bitbucket.example.com", Token: "t"})
		}, unrevisioned, "stash: status skipped: the source stamp has no commit hash"},
		{func() (forge.Target, error) {
			return gitlab.New(gitlab.Options{BaseURL: "https://gitlab.example.com", Token: "t"})
		}, &status.Build{Builder: "linux", Number: 1}, "gitlab: build has no source stamp, no status set"},
		{func() (forge.Target, error) {
			return gitea.New(gitea.Options{BaseURL: "https://gitea.example.com", Token: "t"})
		}, unrevisioned, "gitea: status skipped: no owner/name or no commit hash"},
		{func() (forge.Target, error) { return bitbucket.New(bitbucket.Options{Token: "t"}) },
			unrevisioned, "bitbucket: status skipped: no workspace/repository or no commit hash"},
	} {
		r, err := tc.new()
		require.NoError(t, err)
		t.Run(r.Name(), func(t *testing.T) {
			lines := testkit.HubLog(t, r, status.Event{Kind: status.BuildStarted, Build: tc.b})
			assert.Contains(t, lines, testkit.LogLine{Level: "DEBUG", Reporter: r.Name(), Msg: tc.msg})
		})
	}
}
