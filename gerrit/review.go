package gerrit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/heraldci/herald/status"
)

// Review is what a Reporter posts on a patch set: a message and label votes
// ("Verified": 1). A Review with labels but no message only votes; one with a
// message but no labels only comments; the zero Review posts nothing.
type Review struct {
	Message string
	Labels  map[string]int
}

// IsZero reports whether rv would post nothing.
func (rv Review) IsZero() bool { return rv.Message == "" && len(rv.Labels) == 0 }

// ReviewFunc makes the review of one finished build (Options.Review);
// the zero Review posts nothing.
type ReviewFunc func(b *status.Build) Review

// SummaryFunc makes the review of a finished build set (Options.Summary)
// from the set, whose Builds are filled in; the zero Review posts nothing.
type SummaryFunc func(bs *status.BuildSet) Review

// ResultText returns the phrase Buildbot's summary used for r: "succeeded",
// "failed", "completed with warnings", "encountered an exception"; results
// that Buildbot had no phrase for get one in the same style.
func ResultText(r status.Result) string {
	switch r {
	case status.Success:
		return "succeeded"
	case status.Failure:
		return "failed"
	case status.Warnings:
		return "completed with warnings"
	case status.Exception:
		return "encountered an exception"
	case status.Skipped:
		return "was skipped"
	case status.Retry:
		return "was interrupted and retried"
	case status.Cancelled:
		return "was cancelled"
	}
	return fmt.Sprintf("completed with unknown result %d", int(r))
}

// DefaultSummary is the summary Buildbot 0.8.12 posts when no callback is
// configured: one paragraph per build, sorted by builder name, "Builder
// NAME RESULT (TEXT) - URL" (or "... (TEXT)." without a URL) with RESULT
// from ResultText, and Verified +1 when every build succeeded, -1
// otherwise. A build that was retried (status.Retry) and superseded by a
// later build of the same builder in the set is left out: its rerun speaks
// for it.
func DefaultSummary(bs *status.BuildSet) Review {
	builds := withoutSuperseded(sortedBuilds(bs.Builds))
	if len(builds) == 0 {
		return Review{}
	}
	paragraphs := make([]string, 0, len(builds))
	verified := 1
	for _, b := range builds {
		p := fmt.Sprintf("Builder %s %s (%s)", b.Builder, ResultText(b.Result), buildText(b))
		if b.URL != "" {
			p += " - " + b.URL
		} else {
			p += "."
		}
		paragraphs = append(paragraphs, p)
		if b.Result != status.Success {
			verified = -1
		}
	}
	return Review{
		Message: strings.Join(paragraphs, "\n\n"),
		Labels:  map[string]int{"Verified": verified},
	}
}

// buildText is the build's text, words joined by spaces.
func buildText(b *status.Build) string { return strings.Join(b.Text, " ") }

// withoutSuperseded drops Retry builds for which builds hold a later build
// of the same builder.
func withoutSuperseded(builds []*status.Build) []*status.Build {
	return slices.DeleteFunc(slices.Clone(builds), func(b *status.Build) bool {
		if b.Result != status.Retry {
			return false
		}
		return slices.ContainsFunc(builds, func(o *status.Build) bool {
			return o.Builder == b.Builder && o.Number > b.Number
		})
	})
}

// DefaultReview is Buildbot 0.8.12's per-build review, for Options.Review:
// a message naming the builder and the result, Verified +1 on success and -1
// otherwise, and nothing for a build that will be retried.
func DefaultReview(b *status.Build) Review {
	if b.Result == status.Retry {
		return Review{}
	}
	msg := "Build finished for your patch set\n" +
		"on configuration: " + b.Builder + "\n" +
		"The result is: " + strings.ToUpper(b.Result.String()) + "\n"
	if b.URL != "" {
		msg += "\nFor more details visit:\n" + b.URL + "\n"
	}
	verified := -1
	if b.Result == status.Success {
		verified = 1
	}
	return Review{Message: msg, Labels: map[string]int{"Verified": verified}}
}

// sortedBuilds returns builds without nils, sorted by builder name (then
// number, so a rerun follows the build it replaces).
func sortedBuilds(builds []*status.Build) []*status.Build {
	out := slices.DeleteFunc(slices.Clone(builds), func(b *status.Build) bool { return b == nil })
	slices.SortStableFunc(out, func(a, b *status.Build) int {
		if c := strings.Compare(a.Builder, b.Builder); c != 0 {
			return c
		}
		return a.Number - b.Number
	})
	return out
}
