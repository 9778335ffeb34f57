package web

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/heraldci/herald/status"
)

// The console: changes down the page (newest first), builders across, and
// in each cell the first build of that builder that contains the change:
// green when it passed, red when it failed and the builder's previous build
// had not (a new regression), orange when the builder was failing already,
// yellow while it runs.
//
// "Contains" needs an order of revisions. Buildbot 0.8 sorted revisions as
// strings, so 1000 came before 999 and Git hashes came in random order.
// Here numeric revisions are compared as numbers and any others by commit
// time; with OrderConsoleByTime every revision is ordered by time.

const (
	defaultConsoleRevs = 40
	maxConsoleRevs     = 500
)

type consoleData struct {
	Groups   []consoleGroup
	Builders []status.Builder // in column order
	Rows     []consoleRow
	Width    int // columns of the table
	Events   string
}

// consoleGroup heads the builders sharing a first tag (Buildbot's
// categories).
type consoleGroup struct {
	Tag  string
	Span int
}

type consoleRow struct {
	Change status.Change
	Cells  []consoleCell
}

type consoleCell struct {
	Build *status.Build // nil: no build contains the change yet
	Class string        // success, regression, still-failing, warnings, running, notstarted...
	Title string
}

// consolePage is /console: builder=, tag=, repository=, project=,
// codebase=, branch=, name= (authors) and revs= (how many changes, 40).
func (s *Server) consolePage(r *http.Request) (*view, error) {
	d, err := s.console(r.Context(), r.URL.Query())
	if err != nil {
		return nil, err
	}
	return &view{Template: "console.html", Title: "Console", Data: d}, nil
}

func (s *Server) console(ctx context.Context, q url.Values) (*consoleData, error) {
	h := s.opts.History
	f := builderFilter{names: queryList(q, "builder"), tags: queryList(q, "tag")}
	d := &consoleData{Events: s.eventsURL(f)}
	branches := queryList(q, "branch")
	changes, err := h.Changes(ctx, status.ChangeQuery{
		Branches:     branches,
		Repositories: queryList(q, "repository"),
		Projects:     queryList(q, "project"),
		Codebases:    queryList(q, "codebase"),
		Authors:      queryList(q, "name"),
		Limit:        queryInt(q, "revs", defaultConsoleRevs, 1, maxConsoleRevs),
	})
	if err != nil {
		return nil, err
	}
	all, err := h.Builders(ctx)
	if err != nil {
		return nil, err
	}
	d.Builders = f.selected(all)
	// Group builders by their first tag, keeping History's order inside.
	slices.SortStableFunc(d.Builders, func(a, b status.Builder) int { return cmp.Compare(firstTag(a), firstTag(b)) })
	for _, b := range d.Builders {
		if n := len(d.Groups); n > 0 && d.Groups[n-1].Tag == firstTag(b) {
			d.Groups[n-1].Span++
		} else {
			d.Groups = append(d.Groups, consoleGroup{Tag: firstTag(b), Span: 1})
		}
	}
	d.Width = len(d.Builders) + 2
	if len(changes) == 0 {
		return d, nil
	}

	ord := newRevOrder(changes, s.opts.OrderConsoleByTime)
	d.Rows = make([]consoleRow, len(ord.changes))
	for i := range ord.changes {
		// Rows go newest first; ord.changes is oldest first.
		d.Rows[len(d.Rows)-1-i] = consoleRow{Change: ord.changes[i], Cells: make([]consoleCell, len(d.Builders))}
	}
	oldest := ord.changes[0].When
	for col, b := range d.Builders {
		q := status.BuildQuery{Builders: []string{b.Name}, Branches: branches, Limit: 4*len(changes) + 20}
		if !oldest.IsZero() {
			// A build that started an hour before the oldest change cannot
			// contain it, whatever the clocks say.
			q.Since = oldest.Add(-time.Hour)
		}
		builds, err := h.Builds(ctx, q)
		if err != nil {
			return nil, err
		}
		cells, err := s.consoleColumn(ctx, ord, builds)
		if err != nil {
			return nil, err
		}
		for i, c := range cells {
			d.Rows[len(d.Rows)-1-i].Cells[col] = c
		}
	}
	return d, nil
}

func firstTag(b status.Builder) string {
	if len(b.Tags) > 0 {
		return b.Tags[0]
	}
	return ""
}

// consoleColumn returns one builder's cells, for ord.changes oldest first.
func (s *Server) consoleColumn(ctx context.Context, ord *revOrder, builds []*status.Build) ([]consoleCell, error) {
	type placed struct {
		pos int
		b   *status.Build
	}
	var ps []placed
	for _, b := range builds {
		if p := ord.buildPos(b); p >= 0 {
			ps = append(ps, placed{p, b})
		}
	}
	// The first build containing a change: lowest position, then lowest
	// number.
	slices.SortFunc(ps, func(a, b placed) int { return cmp.Or(cmp.Compare(a.pos, b.pos), cmp.Compare(a.b.Number, b.b.Number)) })
	byNumber := slices.Clone(builds)
	slices.SortFunc(byNumber, func(a, b *status.Build) int { return cmp.Compare(a.Number, b.Number) })

	cells := make([]consoleCell, len(ord.changes))
	for i := range ord.changes {
		j, _ := slices.BinarySearchFunc(ps, i, func(p placed, i int) int { return cmp.Compare(p.pos, i) })
		if j == len(ps) {
			cells[i] = consoleCell{Class: "notstarted", Title: "no build contains this change yet"}
			continue
		}
		b := ps[j].b
		prev, err := s.previousFinished(ctx, byNumber, b)
		if err != nil {
			return nil, err
		}
		class := consoleClass(b, prev)
		cells[i] = consoleCell{Build: b, Class: class, Title: b.Builder + " #" + strconv.Itoa(b.Number) + ": " + class}
	}
	return cells, nil
}

// previousFinished returns the finished build of b's builder before b, from
// the builds at hand or else from History.
func (s *Server) previousFinished(ctx context.Context, byNumber []*status.Build, b *status.Build) (*status.Build, error) {
	i, _ := slices.BinarySearchFunc(byNumber, b.Number, func(x *status.Build, n int) int { return cmp.Compare(x.Number, n) })
	for i--; i >= 0; i-- {
		if byNumber[i].Done() {
			return byNumber[i], nil
		}
	}
	return s.opts.History.PreviousBuild(ctx, b)
}

// consoleClass colours a cell.
func consoleClass(b, prev *status.Build) string {
	if !b.Done() {
		return "running"
	}
	switch b.Result {
	case status.Success:
		return "success"
	case status.Failure, status.Exception:
		if prev != nil && failed(prev.Result) {
			return "still-failing"
		}
		return "regression"
	}
	return b.Result.String()
}

func failed(r status.Result) bool { return r == status.Failure || r == status.Exception }

// revOrder orders the console's changes oldest first and places builds
// among them.
type revOrder struct {
	changes []status.Change
	numeric bool
	pos     map[string]int // revision → index in changes (the newest if repeated)
	nums    []int64        // numeric revisions, ascending, when numeric
}

func newRevOrder(cs []status.Change, byTime bool) *revOrder {
	o := &revOrder{changes: slices.Clone(cs), numeric: !byTime, pos: make(map[string]int, len(cs))}
	if o.numeric {
		o.nums = make([]int64, 0, len(cs))
		for _, c := range cs {
			n, isNum := numericRev(c.Revision)
			if !isNum {
				o.numeric = false
				break
			}
			o.nums = append(o.nums, n)
		}
	}
	if o.numeric {
		slices.SortFunc(o.changes, func(a, b status.Change) int {
			x, _ := numericRev(a.Revision)
			y, _ := numericRev(b.Revision)
			return cmp.Or(cmp.Compare(x, y), cmp.Compare(a.ID, b.ID))
		})
		slices.Sort(o.nums)
	} else {
		slices.SortFunc(o.changes, func(a, b status.Change) int {
			return cmp.Or(a.When.Compare(b.When), cmp.Compare(a.ID, b.ID))
		})
	}
	for i, c := range o.changes {
		if c.Revision != "" {
			o.pos[c.Revision] = i
		}
	}
	return o
}

// buildPos returns the index of the newest change b contains, or -1. A
// build's revision is found among the changes (a short hash matches its
// full form), else numerically, else from the changes it carries, else by
// the time it started.
func (o *revOrder) buildPos(b *status.Build) int {
	best := -1
	for _, src := range b.Sources {
		p, ok := o.pos[src.Revision]
		if !ok {
			p = -1
		}
		if !ok && src.Revision != "" {
			if o.numeric {
				if n, isNum := numericRev(src.Revision); isNum {
					p, ok = upperIndex(o.nums, n), true
				}
			}
			if !ok {
				for rev, i := range o.pos {
					if status.SameRevision(rev, src.Revision) {
						p, ok = i, true
						break
					}
				}
			}
		}
		if !ok {
			for _, c := range src.Changes {
				if i, found := o.pos[c.Revision]; found && i > p {
					p, ok = i, true
				}
			}
		}
		if ok && p > best {
			best = p
		}
	}
	if best < 0 && len(b.Sources) > 0 && !o.numeric && !b.Started.IsZero() {
		// Unknown revision: assume it holds every change committed before
		// the build started.
		best = upperIndexTime(o.changes, b.Started)
	}
	return best
}

// upperIndex is the index of the last value <= n in ascending vals, or -1.
func upperIndex(vals []int64, n int64) int {
	i, found := slices.BinarySearch(vals, n)
	if found {
		for i+1 < len(vals) && vals[i+1] == n {
			i++
		}
		return i
	}
	return i - 1
}

func upperIndexTime(cs []status.Change, t time.Time) int {
	i, _ := slices.BinarySearchFunc(cs, t, func(c status.Change, t time.Time) int {
		if c.When.After(t) {
			return 1
		}
		return -1
	})
	return i - 1
}

// numericRev parses a revision number (Subversion, Perforce): short decimal
// digits without a leading zero, so a hash made only of digits is not one.
func numericRev(rev string) (int64, bool) {
	if rev == "" || len(rev) > 15 || rev[0] == '0' && rev != "0" {
		return 0, false
	}
	n, err := strconv.ParseInt(rev, 10, 64)
	return n, err == nil && n >= 0
}
