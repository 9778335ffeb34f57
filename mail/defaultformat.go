package mail

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

type sourceView struct {
	Codebase, Repository, Branch, Revision, Patch string
}

type changeView struct {
	Revision, Author, Branch, RevLink string
	Comments                          []string
	Files                             []string
}

type stepView struct {
	Name, Result, Text string
	Bad                bool
}

// view is what both default templates render: computed once, in Go, so the
// text and HTML bodies say the same.
type view struct {
	Title, Headline, Verdict     string
	Builder                      string
	Number                       int
	Result, Previous             string
	BuildURL, BuildbotURL        string
	Reason, Worker               string
	Started, Duration            string
	Sources                      []sourceView
	Blamelist                    string
	Changes                      []changeView
	Steps                        []stepView
	LogName, LogURL              string
	LogLines                     []string
	LogTruncatedAt, LogLineCount int
}

// DefaultFormat renders Herald's default mail: a plain-text body and an
// HTML alternative with the builder, result, build URL, reason, worker,
// source stamps (codebase, branch, revision, patch), blamelist, changes
// (author, comments, files), steps and the last lines of the failing step's
// log (FormatInput.LogLines). A MessageFormatter may call it and adjust the
// result.
func DefaultFormat(ctx context.Context, in *FormatInput) (*Content, error) {
	v := buildView(ctx, in)
	return &Content{Text: v.text(), HTML: v.html()}, nil
}

func buildView(ctx context.Context, in *FormatInput) *view {
	b := in.Build
	v := &view{
		Title:       in.Title,
		Headline:    headline(in),
		Verdict:     verdict(in),
		Builder:     in.Builder,
		Number:      b.Number,
		Result:      in.Result.String(),
		BuildURL:    in.BuildURL,
		BuildbotURL: in.BuildbotURL,
		Reason:      b.Reason,
		Worker:      b.Worker,
		Blamelist:   strings.Join(b.Blamelist, ", "),
	}
	if in.Previous != nil {
		v.Previous = "#" + itoa(in.Previous.Number) + " " + in.Previous.Result.String()
	}
	if !b.Started.IsZero() {
		v.Started = b.Started.UTC().Format("2006-01-02 15:04:05 MST")
		if b.Done() {
			v.Duration = b.Finished.Sub(b.Started).Round(time.Second).String()
		}
	}
	for _, s := range b.Sources {
		sv := sourceView{Codebase: s.Codebase, Repository: s.Repository, Branch: s.Branch, Revision: s.Revision}
		if sv.Revision == "" {
			sv.Revision = "HEAD"
		}
		if s.Patch != nil {
			sv.Patch = "plus patch"
			if s.Patch.Comment != "" {
				sv.Patch += ": " + firstLine(s.Patch.Comment)
			}
		}
		v.Sources = append(v.Sources, sv)
		for _, c := range s.Changes {
			v.Changes = append(v.Changes, changeView{
				Revision: shortRev(c.Revision), Author: c.Author, Branch: c.Branch, RevLink: c.RevLink,
				Comments: strings.Split(strings.TrimRight(c.Comments, "\n"), "\n"), Files: c.Files,
			})
		}
	}
	for _, s := range b.Steps {
		v.Steps = append(v.Steps, stepView{
			Name: s.Name, Result: s.Result.String(), Text: strings.Join(s.Text, " "),
			Bad: s.Done() && (s.Result == status.Failure || s.Result == status.Exception),
		})
	}
	if in.LogLines > 0 && in.Result != status.Success {
		if s := in.FailingStep(); s != nil {
			if ref, ok := failingLog(s); ok {
				if lines, err := in.TailLog(ctx, ref, in.LogLines); err == nil && len(lines) > 0 {
					v.LogName, v.LogURL, v.LogLines = s.Name+"."+ref.Name, in.LogURL(s.Name, ref.Name), lines
				}
			}
		}
	}
	return v
}

func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
