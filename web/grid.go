package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// The grid: builders down the side, the latest source stamps (revisions)
// across the top, each cell the builds of that builder at that revision.
// /tgrid transposes it. A stamp is the set of (codebase, branch, revision)
// of a build's sources, so builds of the same commit share a column.

const (
	defaultGridWidth = 5
	maxGridWidth     = 100
)

type gridData struct {
	Transposed bool
	Stamps     []gridStamp
	Builders   []gridBuilder
	Branches   []string
	Tags       []string
	Events     string
}

type gridStamp struct {
	Revision, Branch, Repository string
	Changes                      []status.Change
	When                         time.Time // the newest change, else the first build's start
}

type gridBuilder struct {
	Builder status.Builder
	Cells   [][]*status.Build // per stamp, newest build first
}

// gridPage is /grid: tag=, branch=, builder=, width= (default 5).
func (s *Server) gridPage(r *http.Request) (*view, error) {
	q := r.URL.Query()
	d, err := s.grid(r.Context(), q, queryInt(q, "width", defaultGridWidth, 1, maxGridWidth), false)
	if err != nil {
		return nil, err
	}
	return &view{Template: "grid.html", Title: "Grid", Data: d}, nil
}

// tgridPage is /tgrid: the grid transposed, with length= for width= and
// rev_order=asc|desc (default desc, newest revision on top).
func (s *Server) tgridPage(r *http.Request) (*view, error) {
	q := r.URL.Query()
	d, err := s.grid(r.Context(), q, queryInt(q, "length", defaultGridWidth, 1, maxGridWidth), q.Get("rev_order") != "asc")
	if err != nil {
		return nil, err
	}
	d.Transposed = true
	return &view{Template: "grid.html", Title: "Transposed grid", Data: d}, nil
}

// grid collects the newest width stamps of the selected builders' builds.
// newestFirst orders them newest first; the grid shows them oldest first,
// left to right.
func (s *Server) grid(ctx context.Context, q url.Values, width int, newestFirst bool) (*gridData, error) {
	f := builderFilter{names: queryList(q, "builder"), tags: queryList(q, "tag")}
	d := &gridData{Branches: queryList(q, "branch"), Tags: f.tags, Events: s.eventsURL(f)}
	all, err := s.opts.History.Builders(ctx)
	if err != nil {
		return nil, err
	}
	sel := f.selected(all)
	if len(sel) == 0 {
		return d, nil
	}
	// Each stamp usually has one build per builder; read twice that, so
	// reruns and builders that lag behind still fill their cells.
	builds, err := s.opts.History.Builds(ctx, status.BuildQuery{
		Builders: builderNames(sel, all), Branches: d.Branches, Limit: 2*width*len(sel) + 20,
	})
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	row := make(map[string]int, len(sel))
	d.Builders = make([]gridBuilder, len(sel))
	for i, b := range sel {
		row[b.Name] = i
		d.Builders[i] = gridBuilder{Builder: b}
	}
	for _, b := range builds {
		key := stampKey(b)
		c, ok := col[key]
		if !ok {
			if len(d.Stamps) == width {
				continue
			}
			c = len(d.Stamps)
			col[key] = c
			d.Stamps = append(d.Stamps, newGridStamp(b))
		}
		st := &d.Stamps[c]
		if st.When.IsZero() || b.Started.Before(st.When) && len(st.Changes) == 0 {
			st.When = b.Started
		}
		gb := &d.Builders[row[b.Builder]]
		for len(gb.Cells) <= c {
			gb.Cells = append(gb.Cells, nil)
		}
		gb.Cells[c] = append(gb.Cells[c], b)
	}
	for i := range d.Builders {
		for len(d.Builders[i].Cells) < len(d.Stamps) {
			d.Builders[i].Cells = append(d.Builders[i].Cells, nil)
		}
	}
	if !newestFirst {
		slices.Reverse(d.Stamps)
		for i := range d.Builders {
			slices.Reverse(d.Builders[i].Cells)
		}
	}
	return d, nil
}

// stampKey identifies the sources of a build.
func stampKey(b *status.Build) string {
	var k strings.Builder
	for _, s := range b.Sources {
		k.WriteString(s.Codebase)
		k.WriteByte(0)
		k.WriteString(s.Branch)
		k.WriteByte(0)
		k.WriteString(s.Revision)
		k.WriteByte(0)
	}
	return k.String()
}

func newGridStamp(b *status.Build) gridStamp {
	var st gridStamp
	if src := b.Source(""); src != nil {
		st.Revision, st.Branch, st.Repository = src.Revision, src.Branch, src.Repository
	}
	st.Changes = b.Changes()
	for _, c := range st.Changes {
		if c.When.After(st.When) {
			st.When = c.When
		}
	}
	return st
}
