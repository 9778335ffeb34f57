package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/heraldci/herald/status"
)

type welcomeData struct {
	ShuttingDown bool
	Builders     int
}

func (s *Server) welcomePage(r *http.Request) (*view, error) {
	bs, err := s.opts.History.Builders(r.Context())
	if err != nil {
		return nil, err
	}
	d := welcomeData{Builders: len(bs)}
	if s.opts.Control != nil {
		var err error
		d.ShuttingDown, err = s.opts.Control.ShutdownState(r.Context())
		if errors.Is(err, status.ErrUnsupported) {
			s.unsupported.Store(CleanShutdown, true) // a host without shutdown
		}
	}
	return &view{Template: "root.html", Title: s.opts.Title, Data: d}, nil
}

type builderRow struct {
	Builder status.Builder
	Last    *status.Build // last finished build, nil when none
	Current []*status.Build
}

type buildersData struct {
	Rows     []builderRow
	Branches []string
}

// buildersPage is /builders: one row per builder with its last finished
// build and running builds; builder= and branch= narrow it.
func (s *Server) buildersPage(r *http.Request) (*view, error) {
	q := r.URL.Query()
	names, branches := queryList(q, "builder"), queryList(q, "branch")
	all, err := s.opts.History.Builders(r.Context())
	if err != nil {
		return nil, err
	}
	d := buildersData{Branches: branches}
	for _, b := range all {
		if len(names) > 0 && !slices.Contains(names, b.Name) {
			continue
		}
		row := builderRow{Builder: b}
		last, err := s.opts.History.Builds(r.Context(), status.BuildQuery{Builders: []string{b.Name}, Branches: branches, Finished: true, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(last) > 0 {
			row.Last = last[0]
		}
		if row.Current, err = s.opts.History.Builds(r.Context(), status.BuildQuery{Builders: []string{b.Name}, Branches: branches, Running: true}); err != nil {
			return nil, err
		}
		d.Rows = append(d.Rows, row)
	}
	return &view{Template: "builders.html", Title: "Builders", Data: d}, nil
}

type builderData struct {
	Builder    *status.Builder
	Current    []*status.Build
	Recent     []*status.Build
	Pending    []status.BuildRequest
	NumBuilds  int
	Properties map[string]string
}

// builderPage is /builders/NAME: running and recent builds (numbuilds=,
// property.NAME=VALUE), pending requests, and the action forms.
func (s *Server) builderPage(r *http.Request) (*view, error) {
	b, err := s.builderOf(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	d := builderData{Builder: b, NumBuilds: s.numBuilds(r), Properties: queryProperties(q)}
	ctx := r.Context()
	if d.Current, err = s.opts.History.Builds(ctx, status.BuildQuery{Builders: []string{b.Name}, Running: true, Properties: d.Properties}); err != nil {
		return nil, err
	}
	if d.Recent, err = s.opts.History.Builds(ctx, status.BuildQuery{Builders: []string{b.Name}, Finished: true, Properties: d.Properties, Limit: d.NumBuilds}); err != nil {
		return nil, err
	}
	pending, err := s.opts.History.Pending(ctx, b.Name)
	if err != nil {
		return nil, err
	}
	for _, p := range pending {
		if propertiesMatch(p.Properties, d.Properties) {
			d.Pending = append(d.Pending, p)
		}
	}
	return &view{Template: "builder.html", Title: "Builder " + b.Name, Data: d}, nil
}

// propertiesMatch applies property.NAME=VALUE filters to a request's
// properties with the same comparison History uses for builds.
func propertiesMatch(props map[string]any, want map[string]string) bool {
	b := status.Build{Properties: props}
	q := status.BuildQuery{Properties: want}
	return q.Match(&b)
}

type buildData struct {
	Build    *status.Build
	Previous *status.Build
	Changes  []status.Change
}

func (s *Server) buildPage(r *http.Request) (*view, error) {
	b, err := s.buildOf(r)
	if err != nil {
		return nil, err
	}
	prev, err := s.opts.History.PreviousBuild(r.Context(), b)
	if err != nil {
		return nil, err
	}
	d := buildData{Build: b, Previous: prev, Changes: b.Changes()}
	return &view{Template: "build.html", Title: b.Builder + " build #" + strconv.Itoa(b.Number), Data: d}, nil
}

type stepData struct {
	Build *status.Build
	Step  *status.Step
}

func (s *Server) stepPage(r *http.Request) (*view, error) {
	b, err := s.buildOf(r)
	if err != nil {
		return nil, err
	}
	st := findStep(b, r.PathValue("step"))
	if st == nil {
		return nil, notFound("Build %d of %s has no step %q.", b.Number, b.Builder, r.PathValue("step"))
	}
	return &view{Template: "step.html", Title: b.Builder + " #" + strconv.Itoa(b.Number) + " " + st.Name, Data: stepData{b, st}}, nil
}

func findStep(b *status.Build, name string) *status.Step {
	for i := range b.Steps {
		if b.Steps[i].Name == name {
			return &b.Steps[i]
		}
	}
	return nil
}

type oneLineData struct {
	Builds    []*status.Build
	NumBuilds int
}

// oneLinePage is /one_line_per_build: the latest finished builds of every
// builder, newest finished first; builder=, branch=, numbuilds=.
func (s *Server) oneLinePage(r *http.Request) (*view, error) {
	q := r.URL.Query()
	n := s.numBuilds(r)
	builds, err := s.opts.History.Builds(r.Context(), status.BuildQuery{
		Builders: queryList(q, "builder"), Branches: queryList(q, "branch"), Finished: true, Limit: n,
	})
	if err != nil {
		return nil, err
	}
	sortByFinish(builds)
	return &view{Template: "one_line_per_build.html", Title: "Recent builds", Data: oneLineData{builds, n}}, nil
}

// sortByFinish orders builds newest finished first, as Buildbot's
// one_line_per_build does (History returns them by start).
func sortByFinish(bs []*status.Build) {
	slices.SortStableFunc(bs, func(a, b *status.Build) int { return b.Finished.Compare(a.Finished) })
}
