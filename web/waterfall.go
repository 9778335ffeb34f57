package web

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/heraldci/herald/status"
)

// The waterfall: one column per builder (and one for changes), time running
// down the page, newest on top. Every box sits in the row of the time it
// started; a step's box stretches up to the next box above it in its
// column, so it covers the time the step ran. Rows are the distinct times at which
// something happened, at most num_events of them.

type waterfallData struct {
	Columns []wfColumn
	Rows    []wfRow
	// Older links to the next page back in time; "" when nothing is older.
	Older  string
	Events string // the live stream URL
	// The filters in force, for the page header.
	Branches     []string
	FailuresOnly bool
	ShowEvents   bool
	// ToggleEvents is this page with show_events flipped.
	ToggleEvents string
}

// wfColumn heads a builder's column.
type wfColumn struct {
	Builder status.Builder
	Last    *status.Build // last finished build
	Current []*status.Build
	State   string // idle, building, offline
}

type wfRow struct {
	Time  time.Time
	Label string // time of day, with the date when it changes
	// Cells are the cells starting in this row, in column order (changes
	// first); columns covered by a box from a row above have none.
	Cells []wfCell
}

type wfCell struct {
	Span  int     // rows covered
	Boxes []wfBox // nil: an empty filler
}

// wfBox is one box: a build's end, a step, a build's start, a change or a
// non-build event.
type wfBox struct {
	Kind   string // "build", "step", "start", "change", "event"
	Class  string // result or state, for colour
	Build  *status.Build
	Step   *status.Step
	Change *status.Change
	Text   string
}

// waterfallPage is /waterfall.
func (s *Server) waterfallPage(r *http.Request) (*view, error) {
	d, err := s.waterfall(r.Context(), r.URL.Query())
	if err != nil {
		return nil, err
	}
	return &view{Template: "waterfall.html", Title: "Waterfall", Data: d}, nil
}

// waterfallQuery is the waterfall's parsed arguments.
type waterfallQuery struct {
	filter       builderFilter
	branches     []string
	showEvents   bool
	failuresOnly bool
	first, last  time.Time // window; zero: open
	numEvents    int
}

func (s *Server) parseWaterfallQuery(q url.Values) waterfallQuery {
	w := waterfallQuery{
		filter:       builderFilter{names: queryList(q, "builder"), tags: queryList(q, "tag")},
		branches:     queryList(q, "branch"),
		showEvents:   queryBool(q, "show_events", true),
		failuresOnly: queryBool(q, "failures_only", false),
		numEvents:    queryInt(q, "num_events", s.opts.NumEvents, 1, s.opts.NumEventsMax),
	}
	if t, ok := queryTime(q, "last_time"); ok {
		w.last = t
	}
	if t, ok := queryTime(q, "first_time"); ok {
		w.first = t
	}
	// show_time is a width in seconds back from last_time (or now), and
	// wins over first_time as in Buildbot.
	if secs := queryInt(q, "show_time", 0, 0, 1<<31-1); secs > 0 {
		end := w.last
		if end.IsZero() {
			end = s.now()
		}
		w.first = end.Add(-time.Duration(secs) * time.Second)
	}
	return w
}

func (s *Server) waterfall(ctx context.Context, q url.Values) (*waterfallData, error) {
	wq := s.parseWaterfallQuery(q)
	h := s.opts.History
	all, err := h.Builders(ctx)
	if err != nil {
		return nil, err
	}
	d := &waterfallData{Branches: wq.branches, FailuresOnly: wq.failuresOnly, ShowEvents: wq.showEvents,
		Events: s.eventsURL(wq.filter), ToggleEvents: withArg(q, "show_events", strconv.FormatBool(!wq.showEvents))}
	if !wq.last.IsZero() {
		d.Events = "" // a page of the past does not change: no live updates
	}
	var builders []status.Builder
	for _, b := range wq.filter.selected(all) {
		col := wfColumn{Builder: b, State: b.State.String()}
		last, err := h.Builds(ctx, status.BuildQuery{Builders: []string{b.Name}, Branches: wq.branches, Finished: true, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(last) > 0 {
			col.Last = last[0]
		}
		if col.Current, err = h.Builds(ctx, status.BuildQuery{Builders: []string{b.Name}, Branches: wq.branches, Running: true}); err != nil {
			return nil, err
		}
		if len(col.Current) > 0 && b.State == status.Idle {
			col.State = "building"
		}
		if wq.failuresOnly && !col.failing() {
			continue
		}
		d.Columns = append(d.Columns, col)
		builders = append(builders, b)
	}

	// The changes column is column 0; builders follow.
	cols := make([][]wfEntry, 1+len(d.Columns))
	index := make(map[string]int, len(d.Columns))
	for i, c := range d.Columns {
		index[c.Builder.Name] = i + 1
	}
	more := false // History has builds older than those read
	if len(builders) > 0 {
		builds, err := s.waterfallBuilds(ctx, wq, builderNames(builders, all))
		if err != nil {
			return nil, err
		}
		more = len(builds) >= wq.numEvents
		for _, b := range builds {
			if i, ok := index[b.Builder]; ok {
				cols[i] = appendBuildEntries(cols[i], b)
			}
		}
	}
	changes, err := h.Changes(ctx, status.ChangeQuery{Branches: wq.branches, Limit: wq.numEvents})
	if err != nil {
		return nil, err
	}
	for i := range changes {
		c := &changes[i]
		cols[0] = append(cols[0], wfEntry{c.When, wfBox{Kind: "change", Class: "change", Change: c, Text: authorName(c.Author)}})
	}
	if wq.showEvents {
		to := wq.last
		if to.IsZero() {
			to = s.now().Add(time.Hour) // clocks of hosts and browsers differ a little
		}
		acts, err := s.activity(ctx, wq.first, to)
		if err != nil {
			return nil, err
		}
		for _, a := range acts {
			box := wfBox{Kind: "event", Class: "event", Text: a.Text}
			if a.Builders == nil {
				for i := 1; i < len(cols); i++ {
					cols[i] = append(cols[i], wfEntry{a.Time, box})
				}
				continue
			}
			for _, name := range a.Builders {
				if i, ok := index[name]; ok {
					cols[i] = append(cols[i], wfEntry{a.Time, box})
				}
			}
		}
	}
	d.Rows, d.Older = layoutWaterfall(cols, wq, q, s.opts.Prefix, more)
	return d, nil
}

// ActivityHistory is a History that also keeps the waterfall's events about
// no single build: workers connecting and disconnecting, masters starting
// and stopping, builders added and removed (a reconfig). Activity returns
// those with times in [from, to] (a zero time leaves that end open), oldest
// first. store.Memory is one; made by store.OpenMemory, it keeps them across
// restarts. When Options.History is an ActivityHistory the waterfall's
// show_events reads them from it; otherwise it shows those the Server itself
// was given (Report) since it started.
type ActivityHistory interface {
	status.History
	Activity(ctx context.Context, from, to time.Time) ([]status.Event, error)
}

// activity returns the non-build events within [from, to] for the
// waterfall: from the History when it keeps them, else from the live feed.
func (s *Server) activity(ctx context.Context, from, to time.Time) ([]activity, error) {
	h, ok := s.opts.History.(ActivityHistory)
	if !ok {
		return s.views.live.recentActivity(from, to), nil
	}
	events, err := h.Activity(ctx, from, to)
	if err != nil {
		return nil, err
	}
	var out []activity
	for _, e := range events {
		if a, ok := activityOf(e); ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// failing is Buildbot's test for failures_only: the last finished build did
// not succeed, a running build has a failed step, or the builder is offline.
func (c *wfColumn) failing() bool {
	if c.Builder.State == status.Offline || c.Last != nil && c.Last.Result != status.Success {
		return true
	}
	for _, b := range c.Current {
		for _, st := range b.Steps {
			if st.Done() && st.Result == status.Failure {
				return true
			}
		}
	}
	return false
}

// waterfallBuilds reads the builds that may have boxes in the window: the
// newest num_events builds started before its end (each build has at least
// two boxes, so they fill the page) and every running build, which may have
// started long ago.
func (s *Server) waterfallBuilds(ctx context.Context, wq waterfallQuery, names []string) ([]*status.Build, error) {
	q := status.BuildQuery{Builders: names, Branches: wq.branches, Limit: wq.numEvents}
	if !wq.last.IsZero() {
		q.Until = wq.last.Add(time.Nanosecond) // last_time is inclusive
	}
	builds, err := s.opts.History.Builds(ctx, q)
	if err != nil {
		return nil, err
	}
	running, err := s.opts.History.Builds(ctx, status.BuildQuery{Builders: names, Branches: wq.branches, Running: true, Until: q.Until})
	if err != nil {
		return nil, err
	}
	for _, b := range running {
		if !slices.Contains(builds, b) {
			builds = append(builds, b)
		}
	}
	return builds, nil
}

type wfEntry struct {
	t   time.Time
	box wfBox
}

// appendBuildEntries adds a build's boxes: its start, its steps and, once
// finished, its result on top.
func appendBuildEntries(es []wfEntry, b *status.Build) []wfEntry {
	es = append(es, wfEntry{b.Started, wfBox{Kind: "start", Class: "start", Build: b, Text: b.Reason}})
	for i := range b.Steps {
		st := &b.Steps[i]
		if st.Started.IsZero() {
			continue // not started yet
		}
		class := "running"
		if st.Done() {
			class = st.Result.String()
		}
		es = append(es, wfEntry{st.Started, wfBox{Kind: "step", Class: class, Build: b, Step: st}})
	}
	if b.Done() {
		es = append(es, wfEntry{b.Finished, wfBox{Kind: "build", Class: b.Result.String(), Build: b}})
	}
	return es
}

// layoutWaterfall turns the columns' entries into table rows with row
// spans, keeping the newest numEvents distinct times within the window. It
// returns the rows and the link to the page before them, if the rows were
// cut or more is set (there is older history than the columns hold).
func layoutWaterfall(cols [][]wfEntry, wq waterfallQuery, q url.Values, prefix string, more bool) ([]wfRow, string) {
	inWindow := func(t time.Time) bool {
		return (wq.first.IsZero() || !t.Before(wq.first)) && (wq.last.IsZero() || !t.After(wq.last))
	}
	var times []int64
	for _, es := range cols {
		for _, e := range es {
			if inWindow(e.t) {
				times = append(times, e.t.UnixNano())
			}
		}
	}
	slices.SortFunc(times, func(a, b int64) int { return cmp.Compare(b, a) })
	times = slices.Compact(times)
	older := ""
	if len(times) > wq.numEvents {
		times = times[:wq.numEvents]
		more = true
	}
	if more && len(times) > 0 {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Del("show_time")
		next.Set("last_time", time.Unix(0, times[len(times)-1]-1).UTC().Format(time.RFC3339Nano))
		older = prefix + "/waterfall?" + next.Encode()
	}
	if len(times) == 0 {
		return nil, older
	}
	rowOf := func(t time.Time) (int, bool) {
		return slices.BinarySearchFunc(times, t.UnixNano(), func(a, b int64) int { return cmp.Compare(b, a) })
	}

	rows := make([]wfRow, len(times))
	var prevDay string
	for i, ns := range times {
		t := time.Unix(0, ns).UTC()
		rows[i].Time = t
		rows[i].Label = t.Format("15:04:05")
		if day := t.Format("2006-01-02"); day != prevDay {
			rows[i].Label = day + " " + rows[i].Label
			prevDay = day
		}
	}
	for _, es := range cols {
		// Group the column's boxes by row, newest first; within a row, the
		// later event on top (a build's result above its last step).
		byRow := map[int][]wfEntry{}
		for _, e := range es {
			if i, ok := rowOf(e.t); ok {
				byRow[i] = append(byRow[i], e)
			}
		}
		used := slices.Sorted(maps.Keys(byRow))
		top := 0 // first row not yet covered in this column
		for _, ri := range used {
			group := byRow[ri]
			slices.SortStableFunc(group, func(a, b wfEntry) int { return cmp.Compare(rank(b.box.Kind), rank(a.box.Kind)) })
			boxes := make([]wfBox, len(group))
			for k, e := range group {
				boxes[k] = e.box
			}
			// A step (or a build's start) lasts until the next box above
			// it, so its box stretches up to there; a build's result, a
			// change and an event are moments, with a gap above them.
			start := top
			if k := boxes[0].Kind; k != "step" && k != "start" && ri > top {
				rows[top].Cells = append(rows[top].Cells, wfCell{Span: ri - top})
				start = ri
			}
			rows[start].Cells = append(rows[start].Cells, wfCell{Span: ri - start + 1, Boxes: boxes})
			top = ri + 1
		}
		if top < len(rows) {
			// Below the oldest box in view: what ran before the page starts.
			rows[top].Cells = append(rows[top].Cells, wfCell{Span: len(rows) - top})
		}
	}
	return rows, older
}

// rank orders boxes of one row: a build's result, then steps, then starts.
func rank(kind string) int {
	switch kind {
	case "build":
		return 4
	case "step":
		return 3
	case "event", "change":
		return 2
	}
	return 1
}

// authorName is the name part of "Name <email>", or the address.
func authorName(author string) string {
	name, email := status.SplitAuthor(author)
	return cmp.Or(name, email, author)
}

// withArg returns "?query" with name set to value, the other arguments kept.
func withArg(q url.Values, name, value string) string {
	next := make(url.Values, len(q)+1)
	for k, v := range q {
		next[k] = v
	}
	next.Set(name, value)
	return "?" + next.Encode()
}
