package stream

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/heraldci/herald/status"
)

// Filter selects the events of a subscription. Zero fields select
// everything; set fields must all match (any of the listed values).
// Builders and Tags select events about a builder; events about no builder
// (changes, workers, the master) pass only when both are empty.
type Filter struct {
	Builders []string
	Tags     []string
	Kinds    []status.Kind
}

// ParseFilter reads a filter from query arguments: builder=, tag= and
// kind= (by name, e.g. buildFinished), each repeatable or comma-separated.
func ParseFilter(q url.Values) (Filter, error) {
	var f Filter
	f.Builders = splitValues(q["builder"])
	f.Tags = splitValues(q["tag"])
	for _, name := range splitValues(q["kind"]) {
		k, err := status.ParseKind(name)
		if err != nil {
			return Filter{}, fmt.Errorf("stream: kind=%q is not an event kind (e.g. buildFinished)", name)
		}
		f.Kinds = append(f.Kinds, k)
	}
	return f, nil
}

func splitValues(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// Query returns f as query arguments for ParseFilter.
func (f Filter) Query() url.Values {
	q := url.Values{}
	for _, b := range f.Builders {
		q.Add("builder", b)
	}
	for _, t := range f.Tags {
		q.Add("tag", t)
	}
	for _, k := range f.Kinds {
		q.Add("kind", k.String())
	}
	return q
}

// Match returns the status.Match of f.
func (f Filter) Match() status.Match {
	var ms []status.Match
	if len(f.Builders) > 0 {
		ms = append(ms, status.Builders(f.Builders...))
	}
	if len(f.Tags) > 0 {
		ms = append(ms, status.Tags(f.Tags...))
	}
	if len(f.Kinds) > 0 {
		ms = append(ms, status.Kinds(f.Kinds...))
	}
	if len(ms) == 0 {
		return func(status.Event) bool { return true }
	}
	return status.And(ms...)
}

// builder reports whether a snapshot should show builder b.
func (f Filter) builder(b *status.Builder) bool {
	if len(f.Builders) > 0 && !slices.Contains(f.Builders, b.Name) {
		return false
	}
	return len(f.Tags) == 0 || b.HasTag(f.Tags...)
}
