package web

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// The resources of the /json tree, with Buildbot 0.8.12's field names:
// results are Buildbot's integers, times Unix seconds (null when unset),
// properties [name, value, source] triples.

type jsonBuilder struct {
	Basedir       string   `json:"basedir"`
	CachedBuilds  []int    `json:"cachedBuilds"`
	Category      string   `json:"category"`
	CurrentBuilds []int    `json:"currentBuilds"`
	Description   string   `json:"description,omitempty"`
	PendingBuilds int      `json:"pendingBuilds"`
	Schedulers    []string `json:"schedulers"`
	Slaves        []string `json:"slaves"`
	State         string   `json:"state"`
	Tags          []string `json:"tags"`
}

type jsonBuild struct {
	Blame        []string     `json:"blame"`
	BuilderName  string       `json:"builderName"`
	CurrentStep  *jsonStep    `json:"currentStep"`
	Eta          *float64     `json:"eta"`
	Logs         [][2]string  `json:"logs"`
	Number       int          `json:"number"`
	Properties   [][3]any     `json:"properties"`
	Reason       string       `json:"reason"`
	Results      *int         `json:"results"`
	Slave        string       `json:"slave"`
	SourceStamps []jsonSource `json:"sourceStamps"`
	Steps        []jsonStep   `json:"steps"`
	Text         []string     `json:"text"`
	Times        [2]*float64  `json:"times"`
}

type jsonStep struct {
	Eta        *float64          `json:"eta"`
	Hidden     bool              `json:"hidden"`
	IsFinished bool              `json:"isFinished"`
	IsStarted  bool              `json:"isStarted"`
	Logs       [][2]string       `json:"logs"`
	Name       string            `json:"name"`
	Results    [2]any            `json:"results"`
	StepNumber int               `json:"step_number"`
	Text       []string          `json:"text"`
	Times      [2]*float64       `json:"times"`
	URLs       map[string]string `json:"urls"`
}

type jsonSource struct {
	Branch     string       `json:"branch"`
	Changes    []jsonChange `json:"changes"`
	Codebase   string       `json:"codebase"`
	HasPatch   bool         `json:"hasPatch"`
	Project    string       `json:"project"`
	Repository string       `json:"repository"`
	Revision   string       `json:"revision"`
}

type jsonChange struct {
	At         string     `json:"at"`
	Branch     string     `json:"branch"`
	Category   string     `json:"category"`
	Codebase   string     `json:"codebase"`
	Comments   string     `json:"comments"`
	Files      []jsonFile `json:"files"`
	Number     int64      `json:"number"`
	Project    string     `json:"project"`
	Properties [][3]any   `json:"properties"`
	Repository string     `json:"repository"`
	Rev        string     `json:"rev"`
	Revlink    string     `json:"revlink"`
	When       *float64   `json:"when"`
	Who        string     `json:"who"`
}

type jsonFile struct {
	Name string  `json:"name"`
	URL  *string `json:"url"`
}

type jsonSlave struct {
	Access_uri    *string           `json:"access_uri"`
	Admin         string            `json:"admin"`
	Builders      map[string][]int  `json:"builders"`
	Connected     bool              `json:"connected"`
	Host          string            `json:"host"`
	Info          map[string]string `json:"info,omitempty"`
	Name          string            `json:"name"`
	Paused        bool              `json:"paused"`
	RunningBuilds []jsonBuild       `json:"runningBuilds"`
	Version       string            `json:"version"`
	LastSeen      *float64          `json:"lastMessageReceived"`
}

type jsonProject struct {
	BuildbotURL string `json:"buildbotURL"`
	Title       string `json:"title"`
	TitleURL    string `json:"titleURL"`
}

type jsonLog struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	URL  string `json:"url"`
}

type jsonRequest struct {
	BuilderName  string       `json:"builderName"`
	ID           string       `json:"brid"`
	Properties   [][3]any     `json:"properties"`
	Reason       string       `json:"reason"`
	SourceStamps []jsonSource `json:"source"`
	SubmittedAt  *float64     `json:"submittedAt"`
}

func unix(t time.Time) *float64 {
	if t.IsZero() {
		return nil
	}
	f := float64(t.UnixNano()) / 1e9
	return &f
}

func properties(p map[string]any, source string) [][3]any {
	out := make([][3]any, 0, len(p))
	for _, k := range slices.Sorted(maps.Keys(p)) {
		out = append(out, [3]any{k, p[k], source})
	}
	return out
}

// jsonLinks are the links JSON clients get: absolute when Options.BaseURL
// is known, else paths from the host's root.
func (s *Server) jsonLinks() status.Links {
	if s.opts.BaseURL != "" {
		return status.Links{Base: s.opts.BaseURL}
	}
	return s.paths
}

func (s *Server) jsonLogs(ls []status.LogRef) [][2]string {
	out := make([][2]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, [2]string{l.Name, s.jsonLinks().Log(l)})
	}
	return out
}

func (s *Server) jsonStepOf(st *status.Step) jsonStep {
	j := jsonStep{
		IsStarted: !st.Started.IsZero(), IsFinished: st.Done(), Logs: s.jsonLogs(st.Logs),
		Name: st.Name, StepNumber: st.Number, Text: nonNil(st.Text),
		Times: [2]*float64{unix(st.Started), unix(st.Finished)}, URLs: map[string]string{},
	}
	if st.Done() {
		j.Results = [2]any{int(st.Result), nonNil(st.Text)}
	} else {
		j.Results = [2]any{nil, []string{}}
	}
	for _, u := range st.URLs {
		j.URLs[u.Name] = u.URL
	}
	return j
}

func (s *Server) jsonBuildOf(b *status.Build) jsonBuild {
	j := jsonBuild{
		Blame: nonNil(b.Blamelist), BuilderName: b.Builder, Number: b.Number,
		Properties: properties(b.Properties, "Build"), Reason: b.Reason, Slave: b.Worker,
		Text: nonNil(b.Text), Times: [2]*float64{unix(b.Started), unix(b.Finished)},
		Logs: [][2]string{}, Steps: make([]jsonStep, 0, len(b.Steps)), SourceStamps: []jsonSource{},
	}
	if b.Done() {
		r := int(b.Result)
		j.Results = &r
	}
	for i := range b.Steps {
		st := s.jsonStepOf(&b.Steps[i])
		j.Steps = append(j.Steps, st)
		j.Logs = append(j.Logs, st.Logs...)
		if st.IsStarted && !st.IsFinished {
			j.CurrentStep = &j.Steps[len(j.Steps)-1]
		}
	}
	for _, src := range b.Sources {
		j.SourceStamps = append(j.SourceStamps, s.jsonSourceOf(src))
	}
	return j
}

func (s *Server) jsonSourceOf(src status.SourceStamp) jsonSource {
	js := jsonSource{Branch: src.Branch, Codebase: src.Codebase, HasPatch: src.Patch != nil,
		Project: src.Project, Repository: src.Repository, Revision: src.Revision, Changes: []jsonChange{}}
	for _, c := range src.Changes {
		js.Changes = append(js.Changes, s.jsonChangeOf(c))
	}
	return js
}

func (s *Server) jsonChangeOf(c status.Change) jsonChange {
	j := jsonChange{
		Branch: c.Branch, Category: c.Category, Codebase: c.Codebase, Comments: c.Comments,
		Number: c.ID, Project: c.Project, Properties: properties(c.Properties, "Change"),
		Repository: c.Repository, Rev: c.Revision, Revlink: c.RevLink, When: unix(c.When), Who: c.Author,
		Files: make([]jsonFile, 0, len(c.Files)),
	}
	if !c.When.IsZero() {
		j.At = c.When.UTC().Format(time.RFC1123)
	}
	j.Revlink = s.changeLink(c)
	for _, f := range c.Files {
		j.Files = append(j.Files, jsonFile{Name: f})
	}
	return j
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) jsonBuilderOf(ctx context.Context, b *status.Builder, numBuilds int) (jsonBuilder, error) {
	j := jsonBuilder{Category: strings.Join(b.Tags, ","), Description: b.Description, PendingBuilds: b.Pending,
		Schedulers: []string{}, Slaves: nonNil(b.Workers), State: b.State.String(), Tags: nonNil(b.Tags),
		CachedBuilds: []int{}, CurrentBuilds: []int{}}
	builds, err := s.opts.History.Builds(ctx, status.BuildQuery{Builders: []string{b.Name}, Limit: numBuilds})
	if err != nil {
		return j, err
	}
	for i := len(builds) - 1; i >= 0; i-- {
		j.CachedBuilds = append(j.CachedBuilds, builds[i].Number)
		if !builds[i].Done() {
			j.CurrentBuilds = append(j.CurrentBuilds, builds[i].Number)
		}
	}
	return j, nil
}
