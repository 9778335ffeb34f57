package github

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/heraldci/herald/internal/forge"
	"github.com/heraldci/herald/status"
)

// Limits of the Checks API.
const (
	// maxOutput is the most characters of a check run's output summary and
	// text GitHub takes.
	maxOutput = 65535
	// annotationsPerRequest is the most annotations one request may carry;
	// GitHub appends those of each update to the run's.
	annotationsPerRequest = 50
	// maxAnnotations bounds the annotations of one build, so a noisy log
	// costs at most maxAnnotations/annotationsPerRequest requests.
	maxAnnotations = 500
)

// Check-run statuses (the conclusion is set once completed).
const (
	checkInProgress = "in_progress"
	checkCompleted  = "completed"
)

// runKey names the check run of one build on one commit.
type runKey struct {
	repo, sha, name string
	build           int
}

// run is a check run created on GitHub.
type run struct {
	id int64
	// done counts the requests of the completed run that went through: the
	// one that completed it, then one per further batch of annotations. A
	// retried event resumes after them.
	done int
}

// checkOutput is what a check run shows, apart from its title (which
// depends on the target's templates).
type checkOutput struct {
	summary, text string
	annotations   []*gh.CheckRunAnnotation
}

// check creates, completes or annotates the check run of one target.
func (r *Reporter) check(ctx context.Context, b *status.Build, t *target, out *checkOutput) error {
	if err := r.resolve(ctx, t); err != nil {
		return err
	}
	k := forge.Key{Repo: t.owner + "/" + t.repo, SHA: t.sha, Name: t.context}
	rk := runKey{repo: strings.ToLower(k.Repo), sha: strings.ToLower(t.sha), name: t.context, build: b.Number}
	known, isKnown := r.runs.Get(rk)
	verdict, last := r.sent.Check(k, t.sent)
	switch {
	case verdict == forge.Repeat:
		r.log.Debug("github: check run unchanged, not sent again", t.logAttrs()...)
		return nil
	case verdict == forge.Stale && !(t.sent.Finished && isKnown && last.Build != b.Number):
		// A newer build's run is on the commit: creating this one would
		// hide it. An older build's run that exists is still completed.
		r.log.Debug("github: check run skipped: a newer build was reported on this commit",
			append(t.logAttrs(), "reported_build", last.Build, "reported_finished", last.Finished)...)
		return nil
	}
	checks := r.client.Load().Checks
	if !t.sent.Finished {
		if isKnown {
			return nil
		}
		cr, resp, err := checks.CreateCheckRun(ctx, t.owner, t.repo, gh.CreateCheckRunOptions{
			Name: t.context, HeadSHA: t.sha, DetailsURL: optional(t.sent.URL), ExternalID: gh.String(externalID(b)),
			Status: gh.String(checkInProgress), StartedAt: timestamp(b.Started),
			Output: &gh.CheckRunOutput{Title: gh.String(t.sent.Description), Summary: gh.String(out.summary)},
		})
		if err != nil {
			return r.failed(err, resp, t)
		}
		r.runs.Put(rk, run{id: cr.GetID()})
		r.sent.Record(k, t.sent)
		return nil
	}

	batches := batch(out.annotations)
	output := func(i int) *gh.CheckRunOutput {
		return &gh.CheckRunOutput{Title: gh.String(t.sent.Description), Summary: gh.String(out.summary),
			Text: optional(out.text), Annotations: batches[i]}
	}
	completed := timestamp(b.Finished)
	if completed == nil {
		completed = &gh.Timestamp{Time: time.Now().UTC()}
	}
	cur := known
	if !isKnown {
		// The start went unseen (a restart forgot it): create the run
		// completed.
		cr, resp, err := checks.CreateCheckRun(ctx, t.owner, t.repo, gh.CreateCheckRunOptions{
			Name: t.context, HeadSHA: t.sha, DetailsURL: optional(t.sent.URL), ExternalID: gh.String(externalID(b)),
			Status: gh.String(checkCompleted), Conclusion: gh.String(t.sent.State),
			StartedAt: timestamp(b.Started), CompletedAt: completed, Output: output(0),
		})
		if err != nil {
			return r.failed(err, resp, t)
		}
		cur = run{id: cr.GetID(), done: 1}
		r.runs.Put(rk, cur)
	}
	for i := cur.done; i < len(batches); i++ {
		o := gh.UpdateCheckRunOptions{Name: t.context, Output: output(i)}
		if i == 0 {
			o.DetailsURL, o.ExternalID = optional(t.sent.URL), gh.String(externalID(b))
			o.Status, o.Conclusion, o.CompletedAt = gh.String(checkCompleted), gh.String(t.sent.State), completed
		}
		_, resp, err := checks.UpdateCheckRun(ctx, t.owner, t.repo, cur.id, o)
		if err != nil {
			return r.failed(err, resp, t)
		}
		cur.done = i + 1
		r.runs.Put(rk, cur)
	}
	if verdict != forge.Stale {
		r.sent.Record(k, t.sent)
	}
	return nil
}

// batch splits annotations into GitHub's requests: at least one, the
// first of which may carry none.
func batch(as []*gh.CheckRunAnnotation) [][]*gh.CheckRunAnnotation {
	out := [][]*gh.CheckRunAnnotation{nil}
	for i := 0; i < len(as); i += annotationsPerRequest {
		if i == 0 {
			out[0] = as[:min(len(as), annotationsPerRequest)]
			continue
		}
		out = append(out, as[i:min(len(as), i+annotationsPerRequest)])
	}
	return out
}

// externalID names the build on Herald's side: builder/number.
func externalID(b *status.Build) string { return b.Builder + "/" + strconv.Itoa(b.Number) }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return gh.String(s)
}

func timestamp(t time.Time) *gh.Timestamp {
	if t.IsZero() {
		return nil
	}
	return &gh.Timestamp{Time: t.UTC()}
}

// output makes the output of a build's check run: the summary, and, for a
// finished build, the log tail and annotations read from Options.History.
func (r *Reporter) output(ctx context.Context, b *status.Build, finished bool) *checkOutput {
	out := &checkOutput{summary: forge.Cut(summary(b, finished), maxOutput)}
	if !finished || r.opts.History == nil {
		return out
	}
	checkout := ""
	if r.opts.Checkout != nil {
		checkout = r.opts.Checkout.Render(b, forge.Keywords(b, b.Source(""), ""))
	}
	seen := map[annotation]bool{}
	var found []annotation
	for i := range b.Steps {
		s := &b.Steps[i]
		level := ""
		switch {
		case !s.Done():
		case s.Result == status.Failure || s.Result == status.Exception:
			level = levelFailure
		case s.Result == status.Warnings:
			level = levelWarning
		}
		ref, ok := mainLog(s)
		if level == "" || !ok {
			continue
		}
		tailOf := out.text == "" && level == levelFailure
		tail, err := readLog(ctx, r.opts.History, ref, r.opts.LogLines, func(line string) {
			a, ok := parseAnnotation(line, level, checkout)
			if ok && !seen[a] && len(found) < maxAnnotations {
				seen[a] = true
				found = append(found, a)
			}
		})
		if err != nil {
			r.log.Warn("github: the log of a step could not be read for its check run",
				"builder", b.Builder, "build", b.Number, "step", s.Name, "log", ref.Name, "err", err)
		}
		if tailOf && len(tail) > 0 {
			out.text = logText(s.Name, ref.Name, tail)
		}
	}
	if len(found) == maxAnnotations {
		r.log.Warn("github: a build's logs name more places than a check run shows; the first are annotated",
			"builder", b.Builder, "build", b.Number, "limit", maxAnnotations)
	}
	for _, a := range found {
		ca := &gh.CheckRunAnnotation{Path: gh.String(a.Path), StartLine: gh.Int(a.Line), EndLine: gh.Int(a.Line),
			AnnotationLevel: gh.String(a.Level), Message: gh.String(a.Message)}
		if a.Column > 0 {
			ca.StartColumn, ca.EndColumn = gh.Int(a.Column), gh.Int(a.Column)
		}
		out.annotations = append(out.annotations, ca)
	}
	return out
}

// mainLog is the log of a step its output goes to: "stdio", else the first.
func mainLog(s *status.Step) (status.LogRef, bool) {
	for _, l := range s.Logs {
		if l.Name == "stdio" {
			return l, true
		}
	}
	if len(s.Logs) > 0 {
		return s.Logs[0], true
	}
	return status.LogRef{}, false
}

// summary is the Markdown summary of a check run: how the build went, its
// steps with their results, and its blamelist.
func summary(b *status.Build, finished bool) string {
	var sb strings.Builder
	if finished {
		text := b.Summary()
		if !b.Done() {
			text = endDescription(b)
		}
		fmt.Fprintf(&sb, "**Result: %s.** %s\n", b.Result, markdown(text))
	} else {
		fmt.Fprintf(&sb, "**Running.** Build #%d of %s started.\n", b.Number, markdown(b.Builder))
	}
	if len(b.Steps) > 0 {
		sb.WriteString("\n| Step | Result |\n| --- | --- |\n")
		for _, s := range b.Steps {
			res := "running"
			if s.Done() {
				res = s.Result.String()
				if s.Result == status.Failure || s.Result == status.Exception {
					res = "**" + res + "**"
				}
			}
			fmt.Fprintf(&sb, "| %s | %s |\n", markdown(s.Name), res)
		}
	}
	if len(b.Blamelist) > 0 {
		who := make([]string, len(b.Blamelist))
		for i, w := range b.Blamelist {
			who[i] = markdown(w)
		}
		fmt.Fprintf(&sb, "\n**Blamelist:** %s\n", strings.Join(who, ", "))
	}
	return sb.String()
}

// markdown escapes the characters that would make s markup (emphasis,
// links, HTML, table cells), and folds it onto one line.
func markdown(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var sb strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|#!", r) {
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
