package wire

import (
	"fmt"
	"time"

	"github.com/heraldci/herald/status"
)

// FromStatus converts e to its wire form. The result shares e's slices and
// maps: encode it before e changes.
func FromStatus(e status.Event) Event {
	w := Event{V: Version, ID: e.ID, Kind: e.Kind.String(), Time: e.Time, Seq: e.Seq, Master: e.Master,
		Skipped: e.Skipped, Chunk: e.Chunk}
	if b := e.Builder; b != nil {
		w.Builder = &Builder{Name: b.Name, Tags: b.Tags, Description: b.Description,
			State: b.State.String(), Workers: b.Workers, Pending: b.Pending, Master: b.Master}
	}
	w.Build = fromBuild(e.Build)
	if e.Step != nil {
		s := fromStep(*e.Step)
		w.Step = &s
	}
	if e.Log != nil {
		l := Log(*e.Log)
		w.Log = &l
	}
	if bs := e.BuildSet; bs != nil {
		w.BuildSet = &BuildSet{ID: bs.ID, Reason: bs.Reason, Sources: fromSources(bs.Sources), Builders: bs.Builders,
			Properties: bs.Properties, Submitted: bs.Submitted, Finished: timePtr(bs.Finished), Result: bs.Result.String()}
		for _, b := range bs.Builds {
			w.BuildSet.Builds = append(w.BuildSet.Builds, fromBuild(b))
		}
	}
	if r := e.Request; r != nil {
		w.Request = &Request{ID: r.ID, BuildSetID: r.BuildSetID, Builder: r.Builder, Reason: r.Reason, Submitted: r.Submitted,
			Sources: fromSources(r.Sources), Properties: r.Properties, Priority: r.Priority}
	}
	if e.Change != nil {
		c := fromChange(*e.Change)
		w.Change = &c
	}
	if wk := e.Worker; wk != nil {
		w.Worker = &Worker{Name: wk.Name, Host: wk.Host, Admin: wk.Admin, Version: wk.Version, Info: wk.Info,
			Connected: wk.Connected, Paused: wk.Paused, Builders: wk.Builders, LastSeen: wk.LastSeen, Master: wk.Master}
	}
	return w
}

// ToStatus converts w back to the core model.
func (w Event) ToStatus() (status.Event, error) {
	if w.V > Version {
		return status.Event{}, fmt.Errorf("%w: event version %d, this reader's %d: upgrade Herald", ErrNewer, w.V, Version)
	}
	k, err := status.ParseKind(w.Kind)
	if err != nil {
		return status.Event{}, fmt.Errorf("wire: %w", err)
	}
	e := status.Event{Kind: k, ID: w.ID, Time: w.Time, Seq: w.Seq, Master: w.Master, Skipped: w.Skipped, Chunk: w.Chunk}
	var errs errList
	if b := w.Builder; b != nil {
		var st status.BuilderState
		errs.add(st.UnmarshalText([]byte(b.State)))
		e.Builder = &status.Builder{Name: b.Name, Tags: b.Tags, Description: b.Description, State: st,
			Workers: b.Workers, Pending: b.Pending, Master: b.Master}
	}
	e.Build = toBuild(w.Build, &errs)
	if w.Step != nil {
		s := toStep(*w.Step, &errs)
		e.Step = &s
	}
	if w.Log != nil {
		l := status.LogRef(*w.Log)
		e.Log = &l
	}
	if bs := w.BuildSet; bs != nil {
		e.BuildSet = &status.BuildSet{ID: bs.ID, Reason: bs.Reason, Sources: toSources(bs.Sources), Builders: bs.Builders,
			Properties: bs.Properties, Submitted: bs.Submitted, Finished: timeOf(bs.Finished), Result: errs.result(bs.Result)}
		for _, b := range bs.Builds {
			e.BuildSet.Builds = append(e.BuildSet.Builds, toBuild(b, &errs))
		}
	}
	if r := w.Request; r != nil {
		e.Request = &status.BuildRequest{ID: r.ID, BuildSetID: r.BuildSetID, Builder: r.Builder, Reason: r.Reason,
			Submitted: r.Submitted, Sources: toSources(r.Sources), Properties: r.Properties, Priority: r.Priority}
	}
	if w.Change != nil {
		c := toChange(*w.Change)
		e.Change = &c
	}
	if wk := w.Worker; wk != nil {
		e.Worker = &status.Worker{Name: wk.Name, Host: wk.Host, Admin: wk.Admin, Version: wk.Version, Info: wk.Info,
			Connected: wk.Connected, Paused: wk.Paused, Builders: wk.Builders, LastSeen: wk.LastSeen, Master: wk.Master}
	}
	if errs.err != nil {
		return status.Event{}, fmt.Errorf("wire: %v event: %w", k, errs.err)
	}
	return e, nil
}

func fromBuild(b *status.Build) *Build {
	if b == nil {
		return nil
	}
	w := &Build{Builder: b.Builder, Number: b.Number, Tags: b.Tags, Worker: b.Worker, Reason: b.Reason,
		Result: b.Result.String(), Text: b.Text, Started: b.Started, Finished: timePtr(b.Finished),
		Properties: b.Properties, Sources: fromSources(b.Sources), Blamelist: b.Blamelist,
		URL: b.URL, BuildSetID: b.BuildSetID, Master: b.Master}
	for _, s := range b.Steps {
		w.Steps = append(w.Steps, fromStep(s))
	}
	return w
}

func toBuild(w *Build, errs *errList) *status.Build {
	if w == nil {
		return nil
	}
	b := &status.Build{Builder: w.Builder, Number: w.Number, Tags: w.Tags, Worker: w.Worker, Reason: w.Reason,
		Result: errs.result(w.Result), Text: w.Text, Started: w.Started, Finished: timeOf(w.Finished),
		Properties: w.Properties, Sources: toSources(w.Sources), Blamelist: w.Blamelist, URL: w.URL,
		BuildSetID: w.BuildSetID, Master: w.Master}
	for _, s := range w.Steps {
		b.Steps = append(b.Steps, toStep(s, errs))
	}
	return b
}

func fromStep(s status.Step) Step {
	w := Step{Name: s.Name, Number: s.Number, Result: s.Result.String(), Text: s.Text, Started: s.Started,
		Finished: timePtr(s.Finished)}
	for _, l := range s.Logs {
		w.Logs = append(w.Logs, Log(l))
	}
	for _, u := range s.URLs {
		w.URLs = append(w.URLs, Link(u))
	}
	return w
}

func toStep(w Step, errs *errList) status.Step {
	s := status.Step{Name: w.Name, Number: w.Number, Result: errs.result(w.Result), Text: w.Text, Started: w.Started,
		Finished: timeOf(w.Finished)}
	for _, l := range w.Logs {
		s.Logs = append(s.Logs, status.LogRef(l))
	}
	for _, u := range w.URLs {
		s.URLs = append(s.URLs, status.Link(u))
	}
	return s
}

func fromSources(ss []status.SourceStamp) []Source {
	var out []Source
	for _, s := range ss {
		w := Source{Codebase: s.Codebase, Repository: s.Repository, Project: s.Project, Branch: s.Branch, Revision: s.Revision}
		if s.Patch != nil {
			p := Patch(*s.Patch)
			w.Patch = &p
		}
		for _, c := range s.Changes {
			w.Changes = append(w.Changes, fromChange(c))
		}
		out = append(out, w)
	}
	return out
}

func toSources(ws []Source) []status.SourceStamp {
	var out []status.SourceStamp
	for _, w := range ws {
		s := status.SourceStamp{Codebase: w.Codebase, Repository: w.Repository, Project: w.Project, Branch: w.Branch, Revision: w.Revision}
		if w.Patch != nil {
			p := status.Patch(*w.Patch)
			s.Patch = &p
		}
		for _, c := range w.Changes {
			s.Changes = append(s.Changes, toChange(c))
		}
		out = append(out, s)
	}
	return out
}

func fromChange(c status.Change) Change {
	return Change{ID: c.ID, Author: c.Author, Committer: c.Committer, Revision: c.Revision, Branch: c.Branch,
		Repository: c.Repository, Project: c.Project, Codebase: c.Codebase, Category: c.Category, RevLink: c.RevLink,
		When: c.When, Files: c.Files, Comments: c.Comments, Properties: c.Properties}
}

func toChange(w Change) status.Change {
	return status.Change{ID: w.ID, Author: w.Author, Committer: w.Committer, Revision: w.Revision, Branch: w.Branch,
		Repository: w.Repository, Project: w.Project, Codebase: w.Codebase, Category: w.Category, RevLink: w.RevLink,
		When: w.When, Files: w.Files, Comments: w.Comments, Properties: w.Properties}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// errList keeps the first conversion error.
type errList struct{ err error }

func (l *errList) add(err error) {
	if l.err == nil {
		l.err = err
	}
}

func (l *errList) result(s string) status.Result {
	r, err := status.ParseResult(s)
	l.add(err)
	return r
}
