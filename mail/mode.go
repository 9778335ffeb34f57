package mail

import (
	"fmt"
	"strings"

	"github.com/heraldci/herald/status"
)

// Mode says which finished builds deserve a mail. Modes combine with |; a
// build is mailed when any of them fires. The first six are Buildbot 0.8.12's,
// with its exact semantics; the last three are email-ext style additions.
type Mode uint16

const (
	// Change fires when the result differs from the previous build's.
	// It never fires on a builder's first build.
	Change Mode = 1 << iota
	// Failing fires on every failed build.
	Failing
	// Passing fires on every successful build.
	Passing
	// Problem fires on a failure when the previous build did not fail
	// (Buildbot 0.8.12: prev.getResults() != FAILURE, so warnings→failure
	// fires too). It never fires on a builder's first build.
	Problem
	// Warnings fires on every build with warnings.
	Warnings
	// Exception fires on every build that ended in an exception.
	Exception
	// Fixed fires on a success after a build that was not a success.
	Fixed
	// FirstFailure fires on a failure when the previous build did not fail,
	// or when there is no previous build (unlike Problem).
	FirstFailure
	// StillFailing fires on a failure after a failure; with
	// Options.StillFailingInterval it fires at most once per interval.
	StillFailing

	modeEnd // one past the last mode
)

const (
	// All is Buildbot's "all": change, failing, passing, problem, warnings
	// and exception. Like Buildbot, it says nothing of skipped, retried or
	// cancelled builds unless their result changed.
	All = Change | Failing | Passing | Problem | Warnings | Exception
	// WarningsOrWorse is Buildbot's "warnings" shortcut: warnings and failing.
	WarningsOrWorse = Warnings | Failing
	// DefaultMode is used when Options.Mode is zero: failing, passing and
	// warnings, as in Buildbot 0.8.12.
	DefaultMode = Failing | Passing | Warnings

	validModes = modeEnd - 1
)

var modeNames = [...]string{
	"change", "failing", "passing", "problem", "warnings", "exception",
	"fixed", "first-failure", "still-failing",
}

// ParseMode parses Buildbot mode names. Each argument may hold several names
// separated by commas or spaces. As in Buildbot, a lone "all" or "warnings" is
// the shortcut (All, WarningsOrWorse); "warnings" beside other names means
// just Warnings. An unknown name is an error that lists the valid ones; no
// names at all is DefaultMode.
func ParseMode(names ...string) (Mode, error) {
	var words []string
	for _, n := range names {
		words = append(words, strings.FieldsFunc(n, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })...)
	}
	switch {
	case len(words) == 0:
		return DefaultMode, nil
	case len(words) == 1 && strings.EqualFold(words[0], "all"):
		return All, nil
	case len(words) == 1 && strings.EqualFold(words[0], "warnings"):
		return WarningsOrWorse, nil
	}
	var m Mode
	for _, w := range words {
		bit, ok := modeBit(w)
		if !ok {
			return 0, fmt.Errorf("mail: unknown mode %q: use all, or a combination of %s", w, strings.Join(modeNames[:], ", "))
		}
		m |= bit
	}
	return m, nil
}

func modeBit(name string) (Mode, bool) {
	name = strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	if name == "all" {
		return All, true
	}
	for i, n := range modeNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// String lists the modes of m by name, comma-separated ("failing,passing").
func (m Mode) String() string {
	if m == 0 {
		return "none"
	}
	var parts []string
	for i, n := range modeNames {
		if m&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if rest := m &^ validModes; rest != 0 {
		parts = append(parts, fmt.Sprintf("mode(%#x)", uint16(rest)))
	}
	return strings.Join(parts, ",")
}

// MarshalText encodes m as String does.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText decodes a comma-separated list, as ParseMode does.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err == nil {
		*m = v
	}
	return err
}

// needsPrevious reports whether m looks at the previous build.
func (m Mode) needsPrevious() bool {
	return m&(Change|Problem|Fixed|FirstFailure|StillFailing) != 0
}

// Fired returns the subset of m that fires for a build with result cur, after
// prev (nil when the builder has no previous build, or the PreviousBuild
// getter returned none).
func (m Mode) Fired(cur status.Result, prev *status.Build) Mode {
	var f Mode
	on := func(bit Mode, cond bool) {
		if m&bit != 0 && cond {
			f |= bit
		}
	}
	on(Change, prev != nil && prev.Result != cur)
	on(Failing, cur == status.Failure)
	on(Passing, cur == status.Success)
	on(Problem, cur == status.Failure && prev != nil && prev.Result != status.Failure)
	on(Warnings, cur == status.Warnings)
	on(Exception, cur == status.Exception)
	on(Fixed, cur == status.Success && prev != nil && prev.Result != status.Success)
	on(FirstFailure, cur == status.Failure && (prev == nil || prev.Result != status.Failure))
	on(StillFailing, cur == status.Failure && prev != nil && prev.Result == status.Failure)
	return f
}
