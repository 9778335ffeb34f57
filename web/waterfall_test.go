package web

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestWaterfallGolden(t *testing.T) {
	s := newServer(t, viewsFixture(), Options{})
	golden(t, "waterfall.golden.html", liveRegion(t, mustGet(t, s, "/waterfall")))
}

// columns returns the builder names heading the waterfall, in order.
func columns(page string) []string {
	head := page
	if i := strings.Index(page, `<tr class="last">`); i >= 0 {
		head = page[:i]
	}
	var names []string
	for _, m := range regexp.MustCompile(`<th><a href="/builders/([^"]+)">`).FindAllStringSubmatch(head, -1) {
		names = append(names, m[1])
	}
	return names
}

func TestWaterfallBuilderFilters(t *testing.T) {
	s := newServer(t, viewsFixture(), Options{})
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"", "arm docs linux mac windows"},
		{"builder=linux&builder=docs", "docs linux"},
		{"tag=unix", "linux mac"},
		{"tag=docs&tag=unix", "docs linux mac"},
		{"builder=linux&tag=docs", ""},
		// failing: linux (last build failed), windows (a running build has
		// a failed step), arm (offline); docs' warnings count as failing
		// as in Buildbot: only success is not.
		{"failures_only=true", "arm docs linux windows"},
		{"failures_only=true&tag=unix", "linux"},
		{"failures_only=false", "arm docs linux mac windows"},
	} {
		page := mustGet(t, s, "/waterfall?"+tc.query)
		if got := strings.Join(columns(page), " "); got != tc.want {
			t.Errorf("?%s: columns %q, want %q", tc.query, got, tc.want)
		}
	}
}

func TestWaterfallBoxes(t *testing.T) {
	s := newServer(t, viewsFixture(), Options{})
	page := mustGet(t, s, "/waterfall")
	for _, want := range []string{
		// the running step of the running build, and its failed step
		`class="box running" data-kind="step" data-builder="windows" data-number="2" data-step="lint"`,
		`class="box failure" data-kind="step" data-builder="windows" data-number="2" data-step="test"`,
		// finished builds on top of their steps
		`class="box failure" data-kind="build" data-builder="linux" data-number="2"`,
		`class="box success" data-kind="build" data-builder="linux" data-number="1"`,
		// links to builds, steps, logs and changes
		`href="/builders/linux/builds/2"`,
		`href="/builders/linux/builds/2/steps/test"`,
		`href="/builders/linux/builds/2/steps/test/logs/stdio"`,
		`href="/changes/2"`,
		// header: current activity and pending requests
		`<td class="box state-building">building<br><a href="/builders/windows/builds/2">#2</a><br>2 pending</td>`,
		`<td class="box state-offline">offline</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("waterfall lacks %s", want)
		}
	}
	// Hostile change comments are escaped in the title attribute.
	if strings.Contains(page, "<script>alert") {
		t.Error("change comments are not escaped")
	}
	if !strings.Contains(page, `title="fix &lt;script&gt;alert(1)&lt;/script&gt; &amp; more"`) {
		t.Error("change comments missing from the change box's title")
	}
}

func TestWaterfallBranch(t *testing.T) {
	s := newServer(t, viewsFixture(), Options{})
	page := mustGet(t, s, "/waterfall?branch=release")
	if !strings.Contains(page, `data-kind="build" data-builder="docs" data-number="2"`) {
		t.Error("branch=release lacks docs #2")
	}
	for _, not := range []string{`data-builder="linux" data-number="1"`, `data-builder="docs" data-number="1"`, `href="/changes/`} {
		if strings.Contains(page, not) {
			t.Errorf("branch=release shows %s (on main)", not)
		}
	}
}

func TestWaterfallEvents(t *testing.T) {
	s := newServer(t, viewsFixture(), Options{})
	at := t0.Add(5 * time.Minute)
	for _, e := range []status.Event{
		{Kind: status.WorkerConnected, Time: at, Worker: &status.Worker{Name: "w-arm", Builders: []string{"arm"}}},
		{Kind: status.MasterStarted, Time: at.Add(time.Second), Master: "m1"},
		{Kind: status.BuildStarted, Time: at, Build: statustest.NewBuild("linux").Build()}, // not an activity
	} {
		if err := s.Report(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	page := mustGet(t, s, "/waterfall")
	if !strings.Contains(page, `<div class="box event" data-kind="event">worker w-arm connected</div>`) {
		t.Error("default waterfall lacks the worker event")
	}
	if n := strings.Count(page, "master started (m1)"); n != 5 {
		t.Errorf("master event in %d columns, want all 5", n)
	}
	if !strings.Contains(page, "show_events=false") {
		t.Error("no link to hide events")
	}
	page = mustGet(t, s, "/waterfall?show_events=false")
	if strings.Contains(page, `data-kind="event"`) {
		t.Error("show_events=false still shows events")
	}
	if !strings.Contains(page, "show_events=true") {
		t.Error("no link to show events")
	}
	// An event before first_time stays out.
	page = mustGet(t, s, "/waterfall?first_time="+fmt.Sprint(at.Add(2*time.Second).Unix()))
	if strings.Contains(page, `data-kind="event"`) {
		t.Error("first_time keeps an older event")
	}
}

// rowTimes returns the time labels of the waterfall's rows.
func rowTimes(page string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr><td class="time">([^<]+)</td>`).FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestWaterfallTimeWindow(t *testing.T) {
	s := newServer(t, viewsFixture(), Options{NumEvents: 5, NumEventsMax: 8})
	unix := func(d time.Duration) string { return fmt.Sprint(t0.Add(d).Unix()) }

	page := mustGet(t, s, "/waterfall")
	rows := rowTimes(page)
	if len(rows) != 5 {
		t.Fatalf("NumEvents 5: %d rows: %v", len(rows), rows)
	}
	// Newest first: windows #2's lint started at 12:20 after the epoch.
	if want := t0.Add(12*time.Minute + 20*time.Second).Format("2006-01-02 15:04:05"); rows[0] != want {
		t.Errorf("first row %q, want %q", rows[0], want)
	}
	older := regexp.MustCompile(`<p class="older"><a href="([^"]+)">`).FindStringSubmatch(page)
	if older == nil {
		t.Fatal("no link to older events")
	}
	// The older page continues where this one ends, and stays still.
	next := mustGet(t, s, strings.ReplaceAll(older[1], "&amp;", "&"))
	if !strings.Contains(page, `data-events="/events"`) || !strings.Contains(next, `data-events=""`) {
		t.Error("the latest page should update live and an older one not")
	}
	nrows := rowTimes(next)
	if len(nrows) == 0 || strings.Compare(lastClock(nrows[0]), lastClock(rows[4])) >= 0 {
		t.Errorf("older page starts at %v, after this page's end %q", nrows, rows[4])
	}

	if n := len(rowTimes(mustGet(t, s, "/waterfall?num_events=2"))); n != 2 {
		t.Errorf("num_events=2: %d rows", n)
	}
	if n := len(rowTimes(mustGet(t, s, "/waterfall?num_events=1000"))); n != 8 {
		t.Errorf("num_events=1000 with NumEventsMax 8: %d rows", n)
	}
	if n := len(rowTimes(mustGet(t, s, "/waterfall?num_events=junk"))); n != 5 {
		t.Errorf("num_events=junk: %d rows, want the default 5", n)
	}

	// last_time: nothing after it. linux #1 ran 0:00-0:20 and windows #1
	// started at 1:00.
	page = mustGet(t, s, "/waterfall?last_time="+unix(30*time.Second))
	for _, r := range rowTimes(page) {
		if lastClock(r) > t0.Add(30*time.Second).Format("15:04:05") {
			t.Errorf("last_time: row %s after it", r)
		}
	}
	if !strings.Contains(page, `data-builder="linux" data-number="1" data-step="test"`) ||
		strings.Contains(page, `data-builder="windows"`) {
		t.Error("last_time=0:30 should show linux #1's steps and nothing of windows")
	}
	// first_time and show_time: only the window.
	for _, q := range []string{
		"first_time=" + unix(11*time.Minute) + "&last_time=" + unix(13*time.Minute),
		"show_time=120&last_time=" + unix(13*time.Minute),
		"first_time=" + t0.Add(11*time.Minute).Format(time.RFC3339) + "&last_time=" + t0.Add(13*time.Minute).Format(time.RFC3339),
	} {
		page := mustGet(t, s, "/waterfall?num_events=8&"+q)
		rows := rowTimes(page)
		if len(rows) == 0 {
			t.Errorf("?%s: no rows", q)
		}
		for _, r := range rows {
			c := lastClock(r)
			if c < t0.Add(11*time.Minute).Format("15:04:05") || c > t0.Add(13*time.Minute).Format("15:04:05") {
				t.Errorf("?%s: row %s outside the window", q, r)
			}
		}
		if !strings.Contains(page, `data-builder="windows" data-number="2" data-step="compile"`) {
			t.Errorf("?%s: lacks windows #2 compile (12:00)", q)
		}
	}
}

func lastClock(label string) string { return label[len(label)-8:] }

// checkTable verifies the row spans tile the table: every row has each of
// ncols columns covered exactly once.
func checkTable(t *testing.T, rows []wfRow, ncols int) {
	t.Helper()
	covered := make([]int, ncols) // rows still covered by a cell from above
	for i, r := range rows {
		col := 0
		for _, c := range r.Cells {
			for col < ncols && covered[col] > 0 {
				col++
			}
			if col == ncols {
				t.Fatalf("row %d: more cells than free columns", i)
			}
			if c.Span < 1 || i+c.Span > len(rows) {
				t.Fatalf("row %d col %d: span %d past the table's %d rows", i, col, c.Span, len(rows))
			}
			covered[col] = c.Span
			col++
		}
		for c := range covered {
			if covered[c] == 0 {
				t.Fatalf("row %d: column %d left empty", i, c)
			}
			covered[c]--
		}
	}
	for c, n := range covered {
		if n != 0 {
			t.Fatalf("column %d spans past the last row", c)
		}
	}
}

func TestWaterfallLayoutTiles(t *testing.T) {
	s := newServer(t, viewsFixture(), Options{})
	for _, q := range []string{"", "num_events=3", "failures_only=true", "branch=release", "builder=arm"} {
		v, _ := url.ParseQuery(q)
		d, err := s.waterfall(t.Context(), v)
		if err != nil {
			t.Fatal(err)
		}
		checkTable(t, d.Rows, len(d.Columns)+1)
	}
	// Random histories: concurrent builds, shared timestamps, running
	// builds.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		h := randomHistory(rng, 1+rng.IntN(4), 1+rng.IntN(6))
		s := newServer(t, h, Options{})
		v := url.Values{"num_events": {fmt.Sprint(1 + rng.IntN(30))}}
		d, err := s.waterfall(t.Context(), v)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkTable(t, d.Rows, len(d.Columns)+1) })
	}
}

// randomHistory makes builds on coarse times, so boxes often share rows.
func randomHistory(rng *rand.Rand, builders, builds int) *statustest.History {
	h := statustest.NewHistory()
	for b := range builders {
		name := fmt.Sprintf("b%d", b)
		for n := range builds {
			bb := statustest.NewBuild(name).Number(n + 1).Started(t0.Add(time.Duration(rng.IntN(20)) * 10 * time.Second))
			for k := range rng.IntN(4) {
				bb.Step(fmt.Sprint("s", k), status.Result(rng.IntN(3)))
			}
			if rng.IntN(4) == 0 {
				bb.Running()
			} else {
				bb.Result(status.Result(rng.IntN(3)))
			}
			h.AddBuild(bb.Build())
		}
	}
	for c := range rng.IntN(5) {
		ch := statustest.NewChange(int64(c+1), "A <a@example.org>")
		ch.When = t0.Add(time.Duration(rng.IntN(20)) * 10 * time.Second)
		h.AddChange(ch)
	}
	return h
}

func FuzzWaterfallQuery(f *testing.F) {
	for _, q := range []string{"", "num_events=3&last_time=1767366245", "show_time=60&first_time=x",
		"failures_only=true&show_events=false&builder=linux", "last_time=2026-01-02T15:10:00Z&tag=%00", "num_events=-5"} {
		f.Add(q)
	}
	s := newServer(f, viewsFixture(), Options{NumEvents: 20, NumEventsMax: 50})
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		d, err := s.waterfall(t.Context(), v)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Rows) > 50 {
			t.Fatalf("%d rows above NumEventsMax", len(d.Rows))
		}
		checkTable(t, d.Rows, len(d.Columns)+1)
		fetch(t, s, "/waterfall?"+v.Encode())
	})
}

// The waterfall's and console's cells are written by hand (markup.go):
// hostile names must come out escaped, foreign URLs defanged.
func TestViewsEscapeHostileNames(t *testing.T) {
	const evil = `<script>alert("x")</script>'`
	b := statustest.NewBuild(evil).Number(1).Reason(evil).Step(evil, status.Failure).Failed().Build()
	b.Steps[0].URLs = []status.Link{{Name: evil, URL: "javascript:alert(1)"}}
	b.Steps[0].Text = []string{evil}
	b.Text = []string{evil}
	h := statustest.NewHistory(b)
	c := statustest.NewChange(1, evil)
	c.Comments = evil
	c.Revision = b.Sources[0].Revision
	h.AddChange(c)
	s := newServer(t, h, Options{})
	for _, path := range []string{"/waterfall", "/console", "/grid", "/tgrid", "/buildstatus?builder=" + url.QueryEscape(evil) + "&number=1"} {
		page := mustGet(t, s, path)
		if strings.Contains(page, "<script>") || strings.Contains(page, "javascript:") {
			t.Errorf("%s lets a hostile name through:\n%s", path, liveRegion(t, page))
		}
		if !strings.Contains(page, "&lt;script&gt;") {
			t.Errorf("%s does not show the escaped name", path)
		}
	}
}
