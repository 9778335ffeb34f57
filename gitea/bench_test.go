package gitea

import (
	"fmt"
	"testing"

	"github.com/heraldci/herald/gitea/giteatest"
	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
)

// BenchmarkHub1000Builds: 1,000 builds, each of its own commit, start and
// finish through a Hub against the API double; statuses/s counts the
// statuses Gitea took.
func BenchmarkHub1000Builds(b *testing.B) {
	f := newFakeGitea(b, giteatest.Options{})
	testkit.HubBuilds(b, newReporter(b, f, Options{}), func(iter, i int) *status.Build {
		return build(i + 1).Revision(fmt.Sprintf("%08x%032x", iter, i)).Succeeded().Build()
	}, f.Wait)
}
