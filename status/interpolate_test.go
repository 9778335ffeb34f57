package status_test

import (
	"strings"
	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestInterpolate(t *testing.T) {
	b := statustest.NewBuild("linux").Number(253).Worker("w1").Reason("forced").
		Property("owner", "alice").Property("empty", "").Property("zero", 0).Property("flag", true).
		Property("n", 3).Revision("a87b2c4d00000000000000000000000000000000").Branch("release").
		Source(status.SourceStamp{Codebase: "docs", Repository: "git@example.org:docs.git", Branch: "gh-pages", Revision: "ffff"}).
		Build()
	kw := map[string]string{"result": "failure", "blank": ""}
	for _, tc := range []struct{ tmpl, want string }{
		{"plain text", "plain text"},
		{"", ""},
		{"100%%", "100%"},
		{"%(prop:owner)s", "alice"},
		{"%(prop:n)s builds", "3 builds"},
		{"%(prop:missing)s|", "|"},
		{"%(prop:buildername)s #%(prop:buildnumber)s on %(prop:workername)s", "linux #253 on w1"},
		{"%(prop:slavename)s %(prop:reason)s", "w1 forced"},
		{"%(prop:branch)s@%(prop:revision)s", "release@a87b2c4d00000000000000000000000000000000"},
		{"%(src::revision)s", "a87b2c4d00000000000000000000000000000000"},
		{"%(src::branch)s %(src:docs:branch)s %(src:docs:repository)s", "release gh-pages git@example.org:docs.git"},
		{"%(src:nope:revision)s.", "."},
		{"%(src:docs:codebase)s/%(src:docs:project)s", "docs/"},
		{"%(kw:result)s", "failure"},
		{"%(kw:missing:-none)s", "none"},
		{"%(prop:missing:-default)s", "default"},
		{"%(prop:owner:-default)s", "alice"},
		{"%(prop:empty:-default)s", ""},
		{"%(prop:empty:~default)s", "default"},
		{"%(prop:zero:~default)s", "default"},
		{"%(prop:owner:~default)s", "alice"},
		{"%(prop:owner:+set)s", "set"},
		{"%(prop:missing:+set)s", ""},
		{"%(prop:owner:?|yes|no)s", "yes"},
		{"%(prop:missing:?|yes|no)s", "no"},
		{"%(prop:empty:?:yes:no)s", "yes"},
		{"%(prop:empty:#?|yes|no)s", "no"},
		{"%(prop:flag:#?|yes|no)s", "yes"},
		{"%(prop:missing:-%(prop:owner)s)s", "alice"},
		{"%(prop:missing:-%(kw:missing:-deep)s)s!", "deep!"},
		{"%(kw:blank:~x)s %(kw:blank:-y)s.", "x ."},
		{"a) %(prop:owner)s (b", "a) alice (b"},
	} {
		tmpl, err := status.Interpolate(tc.tmpl)
		if err != nil {
			t.Errorf("Interpolate(%q): %v", tc.tmpl, err)
			continue
		}
		if got := tmpl.Render(b, kw); got != tc.want {
			t.Errorf("Interpolate(%q).Render = %q, want %q", tc.tmpl, got, tc.want)
		}
		if tmpl.String() != tc.tmpl {
			t.Errorf("String() = %q, want the source %q", tmpl.String(), tc.tmpl)
		}
	}
}

func TestInterpolateNilBuild(t *testing.T) {
	tmpl := status.MustInterpolate("%(prop:owner:-nobody)s %(src::revision:-HEAD)s %(kw:k)s")
	if got := tmpl.Render(nil, map[string]string{"k": "v"}); got != "nobody HEAD v" {
		t.Errorf("Render(nil) = %q", got)
	}
}

func TestInterpolateMalformed(t *testing.T) {
	for _, tc := range []struct{ tmpl, why string }{
		{"100%", "lone %"},
		{"%s", "%s"},
		{"%(prop:x)d", "conversion"},
		{"%(prop:x)", "missing conversion"},
		{"%(prop:x", "unterminated"},
		{"%(prop)s", "selector:key"},
		{"%(propx:y)s", "unknown selector"},
		{"%(prop:)s", "empty prop name"},
		{"%(kw:)s", "empty kw name"},
		{"%(src:revision)s", "src:CODEBASE:ATTR"},
		{"%(src::sha)s", "unknown source attribute"},
		{"%(prop:x:)s", "empty modifier"},
		{"%(prop:x:*y)s", "unknown modifier"},
		{"%(prop:x:?|a)s", "?|yes|no"},
		{"%(prop:x:?|a|b|c)s", "?|yes|no"},
		{"%(prop:x:#|a|b)s", "#?|yes|no"},
		{"%(prop:x:-%(prop:)s)s", "empty prop name"},
	} {
		_, err := status.Interpolate(tc.tmpl)
		if err == nil {
			t.Errorf("Interpolate(%q) succeeded, want an error about %s", tc.tmpl, tc.why)
			continue
		}
		if !strings.Contains(err.Error(), tc.why) {
			t.Errorf("Interpolate(%q) = %v, want it to mention %q", tc.tmpl, err, tc.why)
		}
	}
}

func TestRenderFunc(t *testing.T) {
	var txt status.Renderer = status.RenderFunc(func(b *status.Build) string { return b.Builder + "!" })
	if got := txt.Render(statustest.NewBuild("docs").Build(), nil); got != "docs!" {
		t.Errorf("RenderFunc = %q", got)
	}
}

func FuzzInterpolate(f *testing.F) {
	for _, s := range []string{"%(prop:a)s", "%(src::revision:-x)s", "%(kw:a:?|b|c)s", "%%", "%(prop:a:-%(prop:b)s)s", "%(", ")s"} {
		f.Add(s)
	}
	b := statustest.NewBuild("linux").Property("a", "A").Build()
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := status.Interpolate(s)
		if err != nil {
			return
		}
		_ = tmpl.Render(b, map[string]string{"a": "x"})
		if !strings.Contains(s, "%") && tmpl.Render(b, nil) != s {
			t.Errorf("a template without %% must render as itself: %q", s)
		}
	})
}
