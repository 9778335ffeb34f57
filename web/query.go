package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Query-argument helpers shared by every view, so that builder=, branch=,
// numbuilds= and friends mean the same on each page. Bad values fall back to
// the default rather than failing: Buildbot ignored them too, and a page
// with a typo in its URL is still worth showing.

// strings returns every non-empty value of name (builder=a&builder=b).
func queryList(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// queryInt returns name as an integer clamped to [lo, hi], or def when
// missing or malformed.
func queryInt(q url.Values, name string, def, lo, hi int) int {
	v, err := strconv.Atoi(q.Get(name))
	if err != nil {
		return def
	}
	return max(lo, min(hi, v))
}

// queryBool returns name as a boolean ("1", "true", "yes", "on"; "0",
// "false", "no", "off"), or def.
func queryBool(q url.Values, name string, def bool) bool {
	switch strings.ToLower(q.Get(name)) {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	return def
}

// queryTime returns name as a time: Unix seconds or RFC 3339.
func queryTime(q url.Values, name string) (time.Time, bool) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Unix(0, int64(n*1e9)).UTC(), true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// queryProperties returns the property.NAME=VALUE filters.
func queryProperties(q url.Values) map[string]string {
	var props map[string]string
	for k, vs := range q {
		name, ok := strings.CutPrefix(k, "property.")
		if !ok || name == "" || len(vs) == 0 {
			continue
		}
		if props == nil {
			props = map[string]string{}
		}
		props[name] = vs[0]
	}
	return props
}

// numBuilds returns ?numbuilds= or the server's default.
func (s *Server) numBuilds(r *http.Request) int {
	return queryInt(r.URL.Query(), "numbuilds", s.opts.NumBuilds, 1, maxNumBuilds)
}

// pathInt parses a path segment as an integer.
func pathInt(r *http.Request, name string) (int, bool) {
	n, err := strconv.Atoi(r.PathValue(name))
	return n, err == nil
}
