package web

import (
	"strings"
	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// TestBuilderNameWithSlash: names are path-escaped in links and unescaped
// by the router, so "team/linux" has pages like any other builder.
func TestBuilderNameWithSlash(t *testing.T) {
	h := statustest.NewHistory(statustest.NewBuild("team/linux").Number(4).Step("unit tests", status.Success).Succeeded().Build())
	h.SetLog(status.LogRef{Builder: "team/linux", Build: 4, Step: "unit tests", Name: "stdio"}, "all good\n")
	s, _ := newTestServer(t, Options{History: h})
	prefixed, _ := newTestServer(t, Options{History: h, Prefix: "/ci"})
	_, body := get(t, s, "/builders")
	if !strings.Contains(body, `href="/builders/team%2Flinux"`) {
		t.Fatalf("link not escaped: %s", body)
	}
	for _, p := range []string{"/builders/team%2Flinux", "/builders/team%2Flinux/builds/4", "/builders/team%2Flinux/builds/4/steps/unit%20tests",
		"/builders/team%2Flinux/builds/4/steps/unit%20tests/logs/stdio/text", "/json/builders/team%2Flinux/builds/4"} {
		if code, body := get(t, s, p); code != 200 {
			t.Errorf("GET %s = %d %s", p, code, body)
		}
		if code, body := get(t, prefixed, "/ci"+p); code != 200 {
			t.Errorf("GET /ci%s = %d %s", p, code, body)
		}
	}
}
