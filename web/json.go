package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// The /json tree is Buildbot 0.8.12's JSON status: the same paths, field
// names and flags (select=, as_text=, filter=, compact=, numbuilds=), so
// scripts written against it keep working. Results are Buildbot's integers,
// times Unix seconds.

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
	for _, k := range slices.Sorted(mapsKeys(p)) {
		out = append(out, [3]any{k, p[k], source})
	}
	return out
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// absURL is a link for JSON clients: absolute when BuildbotURL is known.
func (s *Server) absURL(path string) string {
	if s.opts.BuildbotURL != "" {
		return strings.TrimSuffix(s.opts.BuildbotURL, "/") + s.opts.Prefix + path
	}
	return s.opts.Prefix + path
}

func (s *Server) jsonLogs(ls []status.LogRef) [][2]string {
	out := make([][2]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, [2]string{l.Name, s.absURL(logPath(l))})
	}
	return out
}

func logPath(l status.LogRef) string {
	return buildPath("", l.Builder, l.Build) + "/steps/" + url.PathEscape(l.Step) + "/logs/" + url.PathEscape(l.Name)
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
	if l := s.revLink(c.Revision, c.Repository); l != "" {
		j.Revlink = l
	}
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

// jsonNode resolves a path of the /json tree.
func (s *Server) jsonNode(r *http.Request, path []string) (any, error) {
	ctx := r.Context()
	h := s.opts.History
	n := s.numBuilds(r)
	if len(path) == 0 {
		root := map[string]any{"change_sources": map[string]any{}}
		for _, k := range []string{"builders", "project", "slaves"} {
			v, err := s.jsonNode(r, []string{k})
			if err != nil {
				return nil, err
			}
			root[k] = v
		}
		return root, nil
	}
	switch path[0] {
	case "project":
		if len(path) > 1 {
			return nil, status.ErrNotFound
		}
		return jsonProject{BuildbotURL: s.opts.BuildbotURL, Title: s.opts.Title, TitleURL: s.opts.TitleURL}, nil
	case "builders":
		if len(path) == 1 {
			bs, err := h.Builders(ctx)
			if err != nil {
				return nil, err
			}
			out := make(map[string]jsonBuilder, len(bs))
			for i := range bs {
				if out[bs[i].Name], err = s.jsonBuilderOf(ctx, &bs[i], n); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		b, err := h.Builder(ctx, path[1])
		if err != nil {
			return nil, err
		}
		return s.jsonBuilderNode(r, b, path[2:])
	case "slaves":
		ws, err := h.Workers(ctx)
		if err != nil {
			return nil, err
		}
		running, err := h.Builds(ctx, status.BuildQuery{Running: true})
		if err != nil {
			return nil, err
		}
		if len(path) == 1 {
			out := make(map[string]jsonSlave, len(ws))
			for _, w := range ws {
				out[w.Name] = s.jsonSlaveOf(w, running)
			}
			return out, nil
		}
		for _, w := range ws {
			if w.Name == path[1] && len(path) == 2 {
				return s.jsonSlaveOf(w, running), nil
			}
		}
		return nil, status.ErrNotFound
	case "changes":
		if len(path) == 1 {
			cs, err := h.Changes(ctx, status.ChangeQuery{Limit: n})
			if err != nil {
				return nil, err
			}
			out := make(map[string]jsonChange, len(cs))
			for _, c := range cs {
				out[strconv.FormatInt(c.ID, 10)] = s.jsonChangeOf(c)
			}
			return out, nil
		}
		id, err := strconv.ParseInt(path[1], 10, 64)
		if err != nil || len(path) > 2 {
			return nil, status.ErrNotFound
		}
		c, err := h.Change(ctx, id)
		if err != nil {
			return nil, err
		}
		return s.jsonChangeOf(*c), nil
	}
	return nil, status.ErrNotFound
}

func (s *Server) jsonSlaveOf(w status.Worker, running []*status.Build) jsonSlave {
	j := jsonSlave{Admin: w.Admin, Builders: map[string][]int{}, Connected: w.Connected, Host: w.Host,
		Info: w.Info, Name: w.Name, Paused: w.Paused, RunningBuilds: []jsonBuild{}, Version: w.Version,
		LastSeen: unix(w.LastSeen)}
	for _, b := range w.Builders {
		j.Builders[b] = []int{}
	}
	for _, b := range running {
		if b.Worker == w.Name {
			j.RunningBuilds = append(j.RunningBuilds, s.jsonBuildOf(b))
		}
	}
	return j
}

func (s *Server) jsonBuilderNode(r *http.Request, b *status.Builder, path []string) (any, error) {
	ctx := r.Context()
	h := s.opts.History
	if len(path) == 0 {
		return s.jsonBuilderOf(ctx, b, s.numBuilds(r))
	}
	switch path[0] {
	case "pendingBuilds":
		ps, err := h.Pending(ctx, b.Name)
		if err != nil {
			return nil, err
		}
		out := make([]jsonRequest, 0, len(ps))
		for _, p := range ps {
			jr := jsonRequest{BuilderName: p.Builder, ID: p.ID, Properties: properties(p.Properties, "Force Build Form"),
				Reason: p.Reason, SubmittedAt: unix(p.Submitted), SourceStamps: []jsonSource{}}
			for _, src := range p.Sources {
				jr.SourceStamps = append(jr.SourceStamps, s.jsonSourceOf(src))
			}
			out = append(out, jr)
		}
		return out, nil
	case "slaves":
		ws, err := h.Workers(ctx)
		if err != nil {
			return nil, err
		}
		out := map[string]jsonSlave{}
		for _, w := range ws {
			if slices.Contains(b.Workers, w.Name) {
				out[w.Name] = s.jsonSlaveOf(w, nil)
			}
		}
		return out, nil
	case "builds":
	default:
		return nil, status.ErrNotFound
	}
	if len(path) == 1 || path[1] == "_all" && len(path) == 2 {
		q := status.BuildQuery{Builders: []string{b.Name}, Limit: s.numBuilds(r)}
		if len(path) == 2 {
			q.Limit = 0
		}
		builds, err := h.Builds(ctx, q)
		if err != nil {
			return nil, err
		}
		out := make(map[string]jsonBuild, len(builds))
		for _, bd := range builds {
			out[strconv.Itoa(bd.Number)] = s.jsonBuildOf(bd)
		}
		return out, nil
	}
	num, err := strconv.Atoi(path[1])
	if err != nil {
		return nil, status.ErrNotFound
	}
	bd, err := h.Build(ctx, b.Name, num)
	if err != nil {
		return nil, err
	}
	return s.jsonBuildNode(bd, path[2:])
}

func (s *Server) jsonBuildNode(b *status.Build, path []string) (any, error) {
	if len(path) == 0 {
		return s.jsonBuildOf(b), nil
	}
	switch {
	case path[0] == "source_stamp" || path[0] == "sourcestamp":
		if len(b.Sources) == 0 {
			return nil, status.ErrNotFound
		}
		src := s.jsonSourceOf(*b.Source(""))
		if len(path) == 2 && path[1] == "changes" {
			return src.Changes, nil
		}
		if len(path) > 1 {
			return nil, status.ErrNotFound
		}
		return src, nil
	case path[0] == "steps":
		if len(path) == 1 {
			out := map[string]jsonStep{}
			for i := range b.Steps {
				out[b.Steps[i].Name] = s.jsonStepOf(&b.Steps[i])
			}
			return out, nil
		}
		st := findStep(b, path[1])
		if st == nil {
			if i, err := strconv.Atoi(path[1]); err == nil && i >= 0 && i < len(b.Steps) {
				st = &b.Steps[i]
			} else {
				return nil, status.ErrNotFound
			}
		}
		if len(path) == 2 {
			return s.jsonStepOf(st), nil
		}
		if path[2] != "logs" || len(path) > 4 {
			return nil, status.ErrNotFound
		}
		logs := map[string]jsonLog{}
		for _, l := range st.Logs {
			logs[l.Name] = jsonLog{Name: l.Name, Size: l.Size, URL: s.absURL(logPath(l))}
		}
		if len(path) == 3 {
			return logs, nil
		}
		l, ok := logs[path[3]]
		if !ok {
			return nil, status.ErrNotFound
		}
		return l, nil
	}
	return nil, status.ErrNotFound
}

// serveJSON serves /json and below, with Buildbot's flags.
func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	asText := queryBool(q, "as_text", false)
	filter := queryBool(q, "filter", asText)
	compact := queryBool(q, "compact", !asText)
	base := splitPath(r.PathValue("path"))

	var data any
	var err error
	if sel, ok := q["select"]; ok {
		data, err = s.jsonSelect(r, base, sel)
	} else {
		data, err = s.jsonNode(r, base)
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	if asText {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/json")
	}
	code := http.StatusOK
	switch {
	case errors.Is(err, status.ErrNotFound):
		code, data = http.StatusNotFound, map[string]string{"error": "Not available"}
	case err != nil:
		if r.Context().Err() != nil {
			return
		}
		s.opts.Logger.Error("web: json", "path", r.URL.Path, "err", err)
		code, data = http.StatusInternalServerError, map[string]string{"error": "history unavailable"}
	}
	out, err := encodeJSON(data, filter, compact)
	if err != nil {
		s.opts.Logger.Error("web: json encoding", "path", r.URL.Path, "err", err)
		http.Error(w, `{"error":"encoding"}`, http.StatusInternalServerError)
		return
	}
	w.WriteHeader(code)
	w.Write(out)
}

func splitPath(p string) []string {
	var out []string
	for _, seg := range strings.Split(p, "/") {
		if seg != "" {
			out = append(out, seg)
		}
	}
	return out
}

// jsonSelect merges the selected sub-paths into one tree, deepest first like
// Buildbot; "select=" (empty) includes the resource itself.
func (s *Server) jsonSelect(r *http.Request, base []string, sel []string) (any, error) {
	items := make([][]string, 0, len(sel))
	for _, it := range sel {
		segs := splitPath(it)
		for i, seg := range segs {
			if u, err := url.PathUnescape(seg); err == nil {
				segs[i] = u
			}
		}
		items = append(items, segs)
	}
	slices.SortStableFunc(items, func(a, b []string) int { return len(b) - len(a) })
	data := map[string]any{}
	for _, it := range items {
		v, err := s.jsonNode(r, append(slices.Clone(base), it...))
		if errors.Is(err, status.ErrNotFound) {
			v = map[string]string{"error": "Not available"}
		} else if err != nil {
			return nil, err
		}
		if err := mergeAt(data, it, v); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// mergeAt stores v at path in data, merging objects with what deeper
// selections already put there.
func mergeAt(data map[string]any, path []string, v any) error {
	node := data
	for i, seg := range path {
		if i == len(path)-1 {
			break
		}
		next, ok := node[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			node[seg] = next
		}
		node = next
	}
	obj, err := toObject(v)
	if err != nil {
		return err
	}
	if len(path) == 0 {
		if obj != nil {
			for k, x := range obj {
				if _, taken := data[k]; !taken {
					data[k] = x
				}
			}
		}
		return nil
	}
	last := path[len(path)-1]
	if prev, ok := node[last].(map[string]any); ok && obj != nil {
		for k, x := range obj {
			if _, taken := prev[k]; !taken {
				prev[k] = x
			}
		}
		return nil
	}
	node[last] = v
	return nil
}

// toObject returns v as a generic JSON object, or nil when it is not one.
func toObject(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, nil
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

func encodeJSON(data any, filter, compact bool) ([]byte, error) {
	if filter {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, err
		}
		var generic any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&generic); err != nil {
			return nil, err
		}
		data = filterOut(generic)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if !compact {
		enc.SetIndent("", "  ")
	}
	err := enc.Encode(data)
	return buf.Bytes(), err
}

// filterOut drops null, false, "", [] and {} recursively (Buildbot's
// filter=1).
func filterOut(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e = filterOut(e)
			if empty(e) {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		return x
	case []any:
		out := x[:0]
		for _, e := range x {
			out = append(out, filterOut(e))
		}
		if slices.IndexFunc(out, func(e any) bool { return !empty(e) }) < 0 {
			return []any{}
		}
		return out
	}
	return v
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

type jsonHelpData struct {
	Examples []string
}

func (s *Server) jsonHelpPage(r *http.Request) (*view, error) {
	return &view{Template: "jsonhelp.html", Title: "JSON API", Data: jsonHelpData{Examples: []string{
		"/json", "/json/builders", "/json/builders/NAME", "/json/builders/NAME/builds",
		"/json/builders/NAME/builds/_all", "/json/builders/NAME/builds/-1",
		"/json/builders/NAME/builds/-1/source_stamp/changes", "/json/builders/NAME/builds/N/steps",
		"/json/builders/NAME/builds/N/steps/STEP/logs", "/json/builders/NAME/builds?select=-1&select=-2",
		"/json/builders/NAME/slaves", "/json/builders/NAME/pendingBuilds", "/json/builders/NAME?select=&select=slaves",
		"/json/changes", "/json/changes/N", "/json/slaves", "/json/slaves/NAME", "/json/project",
		"/json?select=slaves&select=project",
	}}}, nil
}
