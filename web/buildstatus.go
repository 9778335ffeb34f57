package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/heraldci/herald/status"
)

// /buildstatus?builder=NAME&number=N is a waterfall column of one build:
// its result on top, then its steps newest first. The console shows it in
// a frame when a cell is opened; it stands alone too.

type buildStatusData struct {
	Build  *status.Build
	Steps  []*status.Step // newest first
	Events string
}

func (s *Server) buildStatusPage(r *http.Request) (*view, error) {
	q := r.URL.Query()
	name := q.Get("builder")
	if name == "" {
		return nil, &pageError{http.StatusBadRequest, "buildstatus needs builder= and number= arguments."}
	}
	n, err := strconv.Atoi(q.Get("number"))
	if err != nil {
		return nil, &pageError{http.StatusBadRequest, "buildstatus: number= must be a build number."}
	}
	b, err := s.opts.History.Build(r.Context(), name, n)
	if err != nil {
		if errors.Is(err, status.ErrNotFound) {
			return nil, notFound("No build %d of builder %q.", n, name)
		}
		return nil, err
	}
	d := &buildStatusData{Build: b, Events: s.eventsURL(builderFilter{names: []string{name}})}
	for i := len(b.Steps) - 1; i >= 0; i-- {
		if !b.Steps[i].Started.IsZero() {
			d.Steps = append(d.Steps, &b.Steps[i])
		}
	}
	return &view{Template: "buildstatus.html", Title: b.Builder + " #" + strconv.Itoa(b.Number), Data: d}, nil
}
