package gerrit

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestResolve(t *testing.T) {
	props := Properties{}.withDefaults()
	build := func(p map[string]any) *status.Build {
		b := statustest.NewBuild("linux").Build()
		b.Properties = p
		return b
	}
	for _, tc := range []struct {
		name  string
		b     *status.Build
		want  target
		skip  bool
		error string
	}{
		{name: "no gerrit properties", b: build(map[string]any{"owner": "alice"}), skip: true},
		{name: "change and patch set as ints", b: build(map[string]any{"event.change.number": 12, "event.patchSet.number": 3, "event.change.project": "p"}),
			want: target{Project: "p", Change: 12, PatchSet: 3}},
		{name: "as JSON numbers", b: build(map[string]any{"event.change.number": float64(12), "event.patchSet.number": json.Number("3")}),
			want: target{Project: "repo", Change: 12, PatchSet: 3}},
		{name: "as strings, legacy names", b: build(map[string]any{"gerrit_change_number": " 12 ", "gerrit_patchset_number": "3", "gerrit_project": "a/b"}),
			want: target{Project: "a/b", Change: 12, PatchSet: 3}},
		{name: "revision property when no patch set", b: build(map[string]any{"event.change.number": 12, "event.patchSet.revision": "ABCDEF12"}),
			want: target{Project: "repo", Change: 12, Revision: "abcdef12"}},
		{name: "source stamp revision", b: build(map[string]any{"event.change.number": 12}),
			want: target{Project: "repo", Change: 12, Revision: testCommit}},
		{name: "0.8.12 gerrit_branch marker", b: build(map[string]any{"gerrit_branch": "main", "got_revision": "feedbeef"}),
			want: target{Project: "repo", Revision: "feedbeef"}},
		{name: "bad change", b: build(map[string]any{"event.change.number": "12; rm -rf /"}), error: "event.change.number"},
		{name: "negative change", b: build(map[string]any{"event.change.number": -4}), error: "not a change number"},
		{name: "fractional patch set", b: build(map[string]any{"event.change.number": 1, "event.patchSet.number": 2.5}), error: "not a patch set number"},
		{name: "bad revision", b: build(map[string]any{"event.change.number": 1, "event.patchSet.revision": "HEAD; id"}), error: "not a commit id"},
		{name: "project with newline", b: build(map[string]any{"event.change.number": 1, "event.patchSet.number": 1, "event.change.project": "a\nb"}), error: "control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := props.resolve(buildProperties(tc.b))
			switch {
			case tc.error != "":
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("resolve = %+v, %v; want an error saying %q", got, err, tc.error)
				}
			case err != nil:
				t.Fatal(err)
			case ok == tc.skip:
				t.Fatalf("ok = %v, want %v", ok, !tc.skip)
			case got != tc.want:
				t.Fatalf("resolve = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestResolveFromChangeProperties(t *testing.T) {
	// Hosts that keep Gerrit's properties on the change, not the build.
	c := statustest.NewChange(1, "Alice <alice@example.org>")
	c.Properties = map[string]any{"event.change.number": 77, "event.patchSet.number": 2}
	b := statustest.NewBuild("linux").Change(c).Build()
	got, ok, err := Properties{}.withDefaults().resolve(buildProperties(b))
	if err != nil || !ok || got.sshRef() != "77,2" {
		t.Fatalf("resolve = %+v %v %v, want 77,2", got, ok, err)
	}
	// Custom names replace the defaults.
	b.Properties = map[string]any{"my.change": "5", "my.ps": "1"}
	got, ok, err = Properties{Change: []string{"my.change"}, PatchSet: []string{"my.ps"}}.withDefaults().resolve(buildProperties(b))
	if err != nil || !ok || got.sshRef() != "5,1" {
		t.Fatalf("custom names: %+v %v %v", got, ok, err)
	}
}

var (
	sshRefRE  = regexp.MustCompile(`^([1-9][0-9]*,[1-9][0-9]*|[0-9a-f]{4,64})$`)
	restIDsRE = regexp.MustCompile(`^[^/?#]*$`)
)

// FuzzResolve feeds property values, as a change source or webhook might
// set them, to the resolver: it must not panic, and whatever it accepts
// must be safe on a command line and in a URL path segment.
func FuzzResolve(f *testing.F) {
	f.Add("12", "3", "infra/herald", "abcdef0123")
	f.Add("", "", "", "")
	f.Add("0", "-1", "-p", "HEAD")
	f.Add("12 34", "3,4", "a\nb", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef00")
	f.Add("99999999999999999999", "1e3", "ü/ß?#%", "DEADBEEF")
	f.Fuzz(func(t *testing.T, change, patchSet, project, revision string) {
		b := statustest.NewBuild("linux").Build()
		b.Properties = map[string]any{}
		for k, v := range map[string]string{
			"event.change.number": change, "event.patchSet.number": patchSet,
			"event.change.project": project, "event.patchSet.revision": revision,
		} {
			if v != "" {
				b.Properties[k] = v
			}
		}
		tg, ok, err := Properties{}.withDefaults().resolve(buildProperties(b))
		if err != nil || !ok {
			return
		}
		if !sshRefRE.MatchString(tg.sshRef()) {
			t.Fatalf("target %+v: patch set argument %q", tg, tg.sshRef())
		}
		if checkProject(tg.Project) != nil {
			t.Fatalf("target %+v: project let through", tg)
		}
		if c, r, err := tg.restIDs(); err == nil && (!restIDsRE.MatchString(c) || !restIDsRE.MatchString(r)) {
			t.Fatalf("target %+v: REST ids %q %q would change the path", tg, c, r)
		}
	})
}
