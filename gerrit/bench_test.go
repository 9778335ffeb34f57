package gerrit

import (
	"testing"
)

func BenchmarkReviewCommand(b *testing.B) {
	tg := target{Project: testProject, Change: testChange, PatchSet: testPatchSet}
	rv := Review{Message: hardMessages["injection"] + "\n" + hardMessages["non-ascii"], Labels: map[string]int{"Verified": 1, "Code-Review": 0}}
	b.ReportAllocs()
	for b.Loop() {
		_ = reviewCommand(tg, rv, DefaultTag, "")
	}
}

// BenchmarkSSHReview is one summary review over loopback SSH: dial, key
// exchange, public key authentication, exec, exit status.
func BenchmarkSSHReview(b *testing.B) {
	env := newSSHEnv(b)
	r := mustNew(b, Options{SSH: env.ssh()})
	ev := buildSetFinished(gerritBuild("linux", 7).Succeeded().Build())
	b.ReportAllocs()
	for b.Loop() {
		if err := report(b, r, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRESTReview is one summary review over loopback HTTP.
func BenchmarkRESTReview(b *testing.B) {
	f := newFakeREST(b)
	r := mustNew(b, Options{REST: f.rest()})
	ev := buildSetFinished(gerritBuild("linux", 7).Succeeded().Build())
	b.ReportAllocs()
	for b.Loop() {
		if err := report(b, r, ev); err != nil {
			b.Fatal(err)
		}
	}
}
