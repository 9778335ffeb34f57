package web

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// consoleHistory has changes at numeric revisions 998, 999, 1000 and 1001
// (lexically 1000 < 1001 < 998 < 999: the 0.8 wart) and two builders:
//
//	A: #1 at 998 passes; #2 at 999 fails (a new regression); #3 at 1000
//	   fails again (still failing); #4 at 1001 is running.
//	B: #1 at 1000 passes (it holds 998, 999 and 1000); nothing has 1001.
func consoleHistory(revs []string) *statustest.History {
	h := statustest.NewHistory()
	authors := []string{"Alice <alice@example.org>", "Bob <bob@example.org>", "Carol <carol@example.org>", "Dave <dave@example.org>"}
	for i, rev := range revs {
		c := statustest.NewChange(int64(i+1), authors[i])
		c.Revision = rev
		c.When = t0.Add(time.Duration(i) * time.Hour)
		c.Repository = "https://example.org/repo.git"
		if i == 3 {
			c.Repository, c.Project, c.Codebase = "https://example.org/other.git", "other", "extra"
		}
		h.AddChange(c)
	}
	build := func(builder string, n int, rev string, at time.Duration, r status.Result, done bool) {
		bb := statustest.NewBuild(builder).Number(n).Tags(map[string]string{"A": "linux", "B": "mac"}[builder]).
			Revision(rev).Started(t0.Add(at))
		if done {
			bb.Result(r)
		}
		h.AddBuild(bb.Build())
	}
	build("A", 1, revs[0], 10*time.Minute, status.Success, true)
	build("A", 2, revs[1], time.Hour+10*time.Minute, status.Failure, true)
	build("A", 3, revs[2], 2*time.Hour+10*time.Minute, status.Failure, true)
	build("A", 4, revs[3], 3*time.Hour+10*time.Minute, 0, false)
	build("B", 1, revs[2], 2*time.Hour+20*time.Minute, status.Success, true)
	return h
}

// consoleRows returns each row's revision (short form) and cell classes.
func consoleRows(page string) []string {
	var out []string
	row := regexp.MustCompile(`<tr class="change" data-change="\d+"><td class="rev"><a href="[^"]*">([^<]+)</a></td><td class="author">[^<]*</td>(.*?)</tr>`)
	cell := regexp.MustCompile(`<td class="box ([a-z-]+)"`)
	for _, m := range row.FindAllStringSubmatch(page, -1) {
		line := m[1] + ":"
		for _, c := range cell.FindAllStringSubmatch(m[2], -1) {
			line += " " + c[1]
		}
		out = append(out, line)
	}
	return out
}

func TestConsoleColours(t *testing.T) {
	s := newServer(t, consoleHistory([]string{"998", "999", "1000", "1001"}), Options{})
	page := mustGet(t, s, "/console")
	got := strings.Join(consoleRows(page), "\n")
	want := strings.Join([]string{
		"1001: running notstarted",
		"1000: still-failing success",
		"999: regression success",
		"998: success success",
	}, "\n")
	if got != want {
		t.Errorf("console rows:\n%s\nwant:\n%s", got, want)
	}
	// Builders are grouped by their first tag.
	if !strings.Contains(page, `<th colspan="1">linux</th><th colspan="1">mac</th>`) {
		t.Error("console lacks its tag groups")
	}
	// Cells link to the build that first holds the change.
	if !strings.Contains(page, `title="A #2: regression"><a href="/builders/A/builds/2"`) {
		t.Error("regression cell does not link to A #2")
	}
	golden(t, "console.golden.html", liveRegion(t, page))
}

func TestConsoleOrderByTime(t *testing.T) {
	// Commit times disagree with the numbers: 1000 was committed after
	// 1001 (a branch merged late). Numbers by default, times on request.
	h := consoleHistory([]string{"998", "999", "1001", "1000"})
	for _, tc := range []struct {
		byTime bool
		want   []string
	}{
		{false, []string{"1001: still-failing success", "1000: running success", "999: regression success", "998: success success"}},
		{true, []string{"1000: running notstarted", "1001: still-failing success", "999: regression success", "998: success success"}},
	} {
		s := newServer(t, h, Options{OrderConsoleByTime: tc.byTime})
		if got := consoleRows(mustGet(t, s, "/console")); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("OrderConsoleByTime %v:\n%q\nwant\n%q", tc.byTime, got, tc.want)
		}
	}
	// Git hashes are ordered by time without the option.
	s := newServer(t, consoleHistory([]string{
		"f000000000000000000000000000000000000001", "a000000000000000000000000000000000000002",
		"c000000000000000000000000000000000000003", "b000000000000000000000000000000000000004"}), Options{})
	got := strings.Join(consoleRows(mustGet(t, s, "/console")), "\n")
	want := strings.Join([]string{
		"b00000000000: running notstarted",
		"c00000000000: still-failing success",
		"a00000000000: regression success",
		"f00000000000: success success",
	}, "\n")
	if got != want {
		t.Errorf("hashes by time:\n%s\nwant:\n%s", got, want)
	}
}

func TestConsoleFilters(t *testing.T) {
	s := newServer(t, consoleHistory([]string{"998", "999", "1000", "1001"}), Options{})
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"builder=B", []string{"1001: notstarted", "1000: success", "999: success", "998: success"}},
		{"tag=linux", []string{"1001: running", "1000: still-failing", "999: regression", "998: success"}},
		{"name=Bob", []string{"999: regression success"}},
		{"name=carol@example.org&name=Alice", []string{"1000: still-failing success", "998: success success"}},
		{"repository=https://example.org/other.git", []string{"1001: running notstarted"}},
		{"project=other", []string{"1001: running notstarted"}},
		{"project=repo&revs=1", []string{"1000: still-failing success"}},
		{"codebase=extra", []string{"1001: running notstarted"}},
		{"codebase=none", nil},
		{"branch=release", nil},
		{"revs=2", []string{"1001: running notstarted", "1000: still-failing success"}},
	} {
		got := consoleRows(mustGet(t, s, "/console?"+tc.query))
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("?%s: %q, want %q", tc.query, got, tc.want)
		}
	}
}

// A build at a short hash, or carrying the change without a known
// revision, still places the change.
func TestConsoleBuildPlacement(t *testing.T) {
	h := statustest.NewHistory()
	c := statustest.NewChange(1, "Alice <alice@example.org>")
	h.AddChange(c)
	h.AddBuild(statustest.NewBuild("short").Revision(c.Revision[:10]).Started(t0.Add(time.Minute)).Succeeded().Build())
	h.AddBuild(statustest.NewBuild("carried").Revision("").Change(c).Started(t0.Add(time.Minute)).Failed().Build())
	h.AddBuild(statustest.NewBuild("before").Revision("unknown").Started(t0.Add(-time.Hour)).Succeeded().Build())
	s := newServer(t, h, Options{})
	got := consoleRows(mustGet(t, s, "/console"))
	if want := "000000000000: notstarted regression success"; len(got) != 1 || got[0] != want {
		t.Errorf("rows %q, want [%q]", got, want)
	}
}

// Revisions come from webhooks: whatever they are, the order is total and
// every change's own revision places a build at that change.
func FuzzRevOrder(f *testing.F) {
	f.Add("998", "999", "1000", false)
	f.Add("0123", "abc", "123456789012345678901", true)
	f.Add("", "-1", "+7", false)
	f.Fuzz(func(t *testing.T, a, b, c string, byTime bool) {
		var cs []status.Change
		for i, rev := range []string{a, b, c} {
			ch := statustest.NewChange(int64(i+1), "A <a@example.org>")
			ch.Revision, ch.When = rev, t0.Add(time.Duration(i)*time.Minute)
			cs = append(cs, ch)
		}
		o := newRevOrder(cs, byTime)
		if len(o.changes) != 3 {
			t.Fatalf("%d changes", len(o.changes))
		}
		for i, ch := range o.changes {
			if ch.Revision == "" {
				continue
			}
			b := statustest.NewBuild("x").Revision(ch.Revision).Started(t0.Add(time.Hour)).Build()
			// Equal revisions share the position of the newest of them.
			if p := o.buildPos(b); p < i {
				t.Errorf("build at %q placed at %d, before its change at %d (%q)", ch.Revision, p, i, o.changes)
			}
		}
	})
}
