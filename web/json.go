package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/heraldci/herald/status"
)

// The /json tree is Buildbot 0.8.12's JSON status: the same paths, field
// names and flags (select=, as_text=, filter=, compact=, numbuilds=), so
// scripts written against it keep working. Results are Buildbot's integers,
// times Unix seconds.

// maxJSONSelects bounds the select= arguments of one request: each one is
// a walk of the history.
const maxJSONSelects = 64

// jsonArgs are what a /json request asked for, its query parsed once.
type jsonArgs struct {
	ctx       context.Context
	numBuilds int
}

// jsonNode resolves a path of the /json tree.
func (s *Server) jsonNode(a jsonArgs, path []string) (any, error) {
	ctx := a.ctx
	h := s.opts.History
	n := a.numBuilds
	if len(path) == 0 {
		root := map[string]any{"change_sources": map[string]any{}}
		for _, k := range []string{"builders", "project", "slaves"} {
			v, err := s.jsonNode(a, []string{k})
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
		return jsonProject{BuildbotURL: s.opts.BaseURL, Title: s.opts.Title, TitleURL: s.opts.TitleURL}, nil
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
		return s.jsonBuilderNode(a, b, path[2:])
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

func (s *Server) jsonBuilderNode(a jsonArgs, b *status.Builder, path []string) (any, error) {
	ctx := a.ctx
	h := s.opts.History
	if len(path) == 0 {
		return s.jsonBuilderOf(ctx, b, a.numBuilds)
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
		q := status.BuildQuery{Builders: []string{b.Name}, Limit: a.numBuilds}
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
			logs[l.Name] = jsonLog{Name: l.Name, Size: l.Size, URL: s.jsonLinks().Log(l)}
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
	// Split the escaped path, so a builder named "team/linux"
	// (team%2Flinux) stays one segment.
	base := splitEscaped(strings.TrimPrefix(r.URL.EscapedPath(), "/json"))

	args := jsonArgs{ctx: r.Context(), numBuilds: queryInt(q, "numbuilds", s.opts.NumBuilds, 1, maxNumBuilds)}

	h := w.Header()
	if o := s.opts.JSONAllowOrigin; o != "" {
		h.Set("Access-Control-Allow-Origin", o)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	var data any
	var err error
	if sel, ok := q["select"]; ok {
		if len(sel) > maxJSONSelects {
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "{\"error\":\"%d select= arguments: ask for at most %d per request\"}\n", len(sel), maxJSONSelects)
			return
		}
		data, err = s.jsonSelect(args, base, sel)
	} else {
		data, err = s.jsonNode(args, base)
	}
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

func splitEscaped(p string) []string {
	segs := splitPath(p)
	for i, seg := range segs {
		if u, err := url.PathUnescape(seg); err == nil {
			segs[i] = u
		}
	}
	return segs
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
func (s *Server) jsonSelect(a jsonArgs, base []string, sel []string) (any, error) {
	items := make([][]string, 0, len(sel))
	for _, it := range sel {
		// Query values are unescaped once already; a second unescape lets
		// select= name a builder with a slash (Buildbot's double escaping).
		items = append(items, splitEscaped(it))
	}
	slices.SortStableFunc(items, func(a, b []string) int { return len(b) - len(a) })
	data := map[string]any{}
	for _, it := range items {
		v, err := s.jsonNode(a, append(slices.Clone(base), it...))
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
// filter=1). Like Buildbot, whose Python test treated 0 as False, it drops
// zero numbers from objects too: a success's "results": 0 goes.
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
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 0
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
