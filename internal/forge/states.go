package forge

import (
	"fmt"
	"slices"
	"strings"

	"github.com/heraldci/herald/status"
)

// CheckStates returns an error naming every result of t mapped to a state
// not among valid, and every result outside status.AllResults. field is the
// option's name with its package, such as "github: Options.States".
func CheckStates[S ~string](field string, t map[status.Result]S, valid ...S) error {
	var bad []string
	for _, r := range status.AllResults() {
		s, ok := t[r]
		if ok && !slices.Contains(valid, s) {
			bad = append(bad, fmt.Sprintf("%s → %q", r, s))
		}
	}
	for r := range t {
		if !r.Valid() {
			bad = append(bad, fmt.Sprintf("%s is no result", r))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	return fmt.Errorf("%s maps %s: the states are %s", field, strings.Join(bad, ", "), strings.Join(names, ", "))
}

// States returns the table a target uses: t's entries, and for each result t
// does not map, the one of defaults. t is not modified.
func States[S ~string](t, defaults map[status.Result]S) map[status.Result]S {
	out := make(map[status.Result]S, len(defaults))
	for _, r := range status.AllResults() {
		if s, ok := t[r]; ok {
			out[r] = s
		} else {
			out[r] = defaults[r]
		}
	}
	return out
}

// StateOf is the state of a build event: started for BuildStarted, else the
// table's state for the build's result.
func StateOf[S ~string](e status.Event, started S, t map[status.Result]S) S {
	if e.Kind == status.BuildStarted {
		return started
	}
	return t[e.Build.Result]
}
