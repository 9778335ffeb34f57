package status

import (
	"fmt"
	"strings"
)

// Result is the outcome of a build or step. The order and the lower-case names
// are Buildbot's, so configurations and receivers written for Buildbot keep
// working: a larger value is a worse outcome, except Retry and Cancelled which
// Buildbot appended later.
type Result int

const (
	Success Result = iota
	Warnings
	Failure
	Skipped
	Exception
	Retry
	Cancelled
)

var resultNames = [...]string{"success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"}

// AllResults lists every Result in Buildbot's order.
func AllResults() []Result {
	return []Result{Success, Warnings, Failure, Skipped, Exception, Retry, Cancelled}
}

// String returns Buildbot's lower-case name of r ("success", "warnings", ...).
func (r Result) String() string {
	if r >= 0 && int(r) < len(resultNames) {
		return resultNames[r]
	}
	return fmt.Sprintf("result(%d)", int(r))
}

// Valid reports whether r is one of the defined results.
func (r Result) Valid() bool { return r >= 0 && int(r) < len(resultNames) }

// MarshalText encodes r by name, so JSON carries "failure" rather than 2.
func (r Result) MarshalText() ([]byte, error) {
	if !r.Valid() {
		return nil, fmt.Errorf("status: invalid result %d", int(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText accepts the names ParseResult accepts.
func (r *Result) UnmarshalText(b []byte) error {
	v, err := ParseResult(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ParseResult parses a result name, case-insensitively. "canceled" and
// "warning" are accepted as spelling variants; numbers in Buildbot's order too.
func ParseResult(s string) (Result, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for i, n := range resultNames {
		if t == n {
			return Result(i), nil
		}
	}
	switch t {
	case "canceled":
		return Cancelled, nil
	case "warning":
		return Warnings, nil
	}
	if len(t) == 1 && t[0] >= '0' && int(t[0]-'0') < len(resultNames) {
		return Result(t[0] - '0'), nil
	}
	return 0, fmt.Errorf("status: unknown result %q: want one of %s", s, strings.Join(resultNames[:], ", "))
}

// worstRank ranks results from best to worst, as Buildbot's worst_status does.
var worstRank = [...]int{
	Skipped:   0,
	Success:   1,
	Warnings:  2,
	Failure:   3,
	Exception: 4,
	Retry:     5,
	Cancelled: 6,
}

// Worst returns the worse of a and b, as Buildbot combines step results into a
// build result: skipped < success < warnings < failure < exception < retry < cancelled.
func Worst(a, b Result) Result {
	if !a.Valid() {
		return b
	}
	if !b.Valid() {
		return a
	}
	if worstRank[b] > worstRank[a] {
		return b
	}
	return a
}
