package web

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// gridHistory: builders a (tag x) and b (tag y) built revisions r1..r7 on
// main, one build each, r3 twice on a; b also built r9 on branch dev.
func gridHistory() *statustest.History {
	h := statustest.NewHistory()
	rev := func(i int) string { return strings.Repeat(fmt.Sprint(i), 40) }
	n := map[string]int{}
	add := func(builder, tag string, r int, branch string, res status.Result, at time.Duration) {
		n[builder]++
		h.AddBuild(statustest.NewBuild(builder).Number(n[builder]).Tags(tag).Revision(rev(r)).Branch(branch).
			Started(t0.Add(at)).Result(res).Build())
	}
	for i := 1; i <= 7; i++ {
		add("a", "x", i, "main", status.Success, time.Duration(i)*time.Hour)
		add("b", "y", i, "main", status.Failure, time.Duration(i)*time.Hour+time.Minute)
	}
	add("a", "x", 3, "main", status.Failure, 3*time.Hour+30*time.Minute)
	add("b", "y", 9, "dev", status.Success, 8*time.Hour)
	return h
}

// stampRevs returns the short revisions heading the grid, in order.
func stampRevs(page string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<span class="rev">(\d)\d*</span>`).FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestGrid(t *testing.T) {
	s := newServer(t, gridHistory(), Options{})
	for _, tc := range []struct {
		path string
		revs string
	}{
		// Oldest left; width 5 by default; branch dev's r9 is newest.
		{"/grid", "4 5 6 7 9"},
		{"/grid?width=2", "7 9"},
		{"/grid?branch=main", "3 4 5 6 7"},
		{"/grid?branch=dev", "9"},
		{"/grid?tag=x", "3 4 5 6 7"},
		{"/grid?width=0", "9"}, // clamped to 1
		// The transposed grid: newest on top unless rev_order=asc.
		{"/tgrid", "9 7 6 5 4"},
		{"/tgrid?length=3&rev_order=desc", "9 7 6"},
		{"/tgrid?length=3&rev_order=asc", "6 7 9"},
		{"/tgrid?branch=main&length=2", "7 6"},
	} {
		page := mustGet(t, s, tc.path)
		if got := strings.Join(stampRevs(page), " "); got != tc.revs {
			t.Errorf("%s: revisions %q, want %q", tc.path, got, tc.revs)
		}
	}

	page := mustGet(t, s, "/grid?tag=y&branch=main&width=5")
	if strings.Contains(page, `href="/builders/a"`) {
		t.Error("tag=y shows builder a")
	}
	// r3 on a has two builds, newest first.
	page = mustGet(t, s, "/grid?branch=main")
	if !regexp.MustCompile(`<td class="cell"><a class="box failure" href="/builders/a/builds/8" data-builder="a" data-number="8">#8</a> <a class="box success" href="/builders/a/builds/3"`).MatchString(page) {
		t.Errorf("r3 cell of a should hold #8 (failure) then #3 (success):\n%s", liveRegion(t, page))
	}
	// b never built r9 on main: its dev build is a cell of b only.
	page = mustGet(t, s, "/grid")
	if !strings.Contains(page, `<th><a href="/builders/a">a</a></th><td class="cell"><a class="box success" href="/builders/a/builds/4"`) {
		t.Errorf("row of a should start with r4:\n%s", liveRegion(t, page))
	}
	if !strings.Contains(page, `<td class="cell none"></td></tr>`) {
		t.Error("a has no build of r9: its last cell should be empty")
	}
	golden(t, "grid.golden.html", liveRegion(t, mustGet(t, s, "/grid?width=3")))
	golden(t, "tgrid.golden.html", liveRegion(t, mustGet(t, s, "/tgrid?length=3")))
}

func TestGridEmpty(t *testing.T) {
	s := newServer(t, statustest.NewHistory(), Options{})
	if page := mustGet(t, s, "/grid"); !strings.Contains(page, "No builders to show.") {
		t.Error("empty grid lacks its message")
	}
	h := statustest.NewHistory()
	h.AddBuilder(status.Builder{Name: "idle"})
	s = newServer(t, h, Options{})
	if page := mustGet(t, s, "/tgrid"); !strings.Contains(page, "No builds yet.") {
		t.Error("grid without builds lacks its message")
	}
}
