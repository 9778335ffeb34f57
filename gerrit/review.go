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

// BuildInfo describes one build of a finished build set to a SummaryCB, as
// Buildbot's buildInfoList did.
type BuildInfo struct {
	Name       string        // the builder's name
	Result     status.Result // the build's result
	ResultText string        // "succeeded", "failed", ... (see ResultText)
	Text       string        // the build's text, words joined by spaces
	URL        string        // the build's page, "" if the host has none
	Build      *status.Build
}

// ReviewFunc makes the review of one finished build (Options.ReviewCB).
type ReviewFunc func(builder string, b *status.Build, result status.Result) Review

// StartFunc makes the message posted when a build starts (Options.StartCB);
// "" posts nothing.
type StartFunc func(builder string, b *status.Build) string

// SummaryFunc makes the review of a finished build set (Options.SummaryCB)
// from its builds, sorted by builder name, and the set's result.
type SummaryFunc func(builds []BuildInfo, result status.Result) Review

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
// configured: one paragraph per build, "Builder NAME RESULT (TEXT) - URL"
// (or "... (TEXT)." without a URL), and Verified +1 when every build
// succeeded, -1 otherwise. A build that was retried (status.Retry) and
// superseded by a later build of the same builder in the set is left out:
// its rerun speaks for it.
func DefaultSummary(builds []BuildInfo, _ status.Result) Review {
	builds = withoutSuperseded(builds)
	if len(builds) == 0 {
		return Review{}
	}
	paragraphs := make([]string, 0, len(builds))
	verified := 1
	for _, bi := range builds {
		p := fmt.Sprintf("Builder %s %s (%s)", bi.Name, bi.ResultText, bi.Text)
		if bi.URL != "" {
			p += " - " + bi.URL
		} else {
			p += "."
		}
		paragraphs = append(paragraphs, p)
		if bi.Result != status.Success {
			verified = -1
		}
	}
	return Review{
		Message: strings.Join(paragraphs, "\n\n"),
		Labels:  map[string]int{"Verified": verified},
	}
}

// withoutSuperseded drops Retry builds for which the set holds a later build
// of the same builder.
func withoutSuperseded(builds []BuildInfo) []BuildInfo {
	return slices.DeleteFunc(slices.Clone(builds), func(bi BuildInfo) bool {
		if bi.Result != status.Retry {
			return false
		}
		return slices.ContainsFunc(builds, func(o BuildInfo) bool {
			return o.Name == bi.Name && o.Build != nil && bi.Build != nil && o.Build.Number > bi.Build.Number
		})
	})
}

// DefaultReview is Buildbot 0.8.12's per-build review, for Options.ReviewCB:
// a message naming the builder and the result, Verified +1 on success and -1
// otherwise, and nothing for a build that will be retried.
func DefaultReview(builder string, b *status.Build, result status.Result) Review {
	if result == status.Retry {
		return Review{}
	}
	msg := "Build finished for your patch set\n" +
		"on configuration: " + builder + "\n" +
		"The result is: " + strings.ToUpper(result.String()) + "\n"
	if b != nil && b.URL != "" {
		msg += "\nFor more details visit:\n" + b.URL + "\n"
	}
	verified := -1
	if result == status.Success {
		verified = 1
	}
	return Review{Message: msg, Labels: map[string]int{"Verified": verified}}
}

// buildInfos describes builds for a SummaryFunc, sorted by builder name
// (then number, so a rerun follows the build it replaces).
func buildInfos(builds []*status.Build) []BuildInfo {
	infos := make([]BuildInfo, 0, len(builds))
	for _, b := range builds {
		if b == nil {
			continue
		}
		infos = append(infos, BuildInfo{
			Name:       b.Builder,
			Result:     b.Result,
			ResultText: ResultText(b.Result),
			Text:       strings.Join(b.Text, " "),
			URL:        b.URL,
			Build:      b,
		})
	}
	slices.SortStableFunc(infos, func(a, b BuildInfo) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return a.Build.Number - b.Build.Number
	})
	return infos
}
