package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/heraldci/herald/status"
)

// Actions are POST endpoints (behind cross-origin protection) that check
// the Authz rule on the action's subject, call Control, and redirect back
// with the result as a flash message, or show the error.

var errForbidden = errors.New("forbidden")

func (s *Server) actionHandler(a action) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Control == nil {
			s.renderError(w, r, http.StatusForbidden, "This server is read-only: the host gave it no Control.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		back, msg, err := a.serve(w, r)
		if errors.Is(err, status.ErrUnsupported) {
			for _, act := range a.offers {
				s.unsupported.Store(act, true)
			}
		}
		if err != nil {
			s.renderActionError(w, r, err)
			return
		}
		s.setFlash(w, msg)
		http.Redirect(w, r, s.opts.Prefix+sameSite(r.PostFormValue("return"), back), http.StatusSeeOther)
	})
}

func (s *Server) renderActionError(w http.ResponseWriter, r *http.Request, err error) {
	var pe *pageError
	switch {
	case errors.Is(err, errForbidden):
		msg := "You are not allowed to do this."
		if user(r) == "" && (s.opts.Authz.Auth != nil || s.opts.Authz.HTTPLoginURL != "") {
			msg += " Log in first."
		}
		s.renderError(w, r, http.StatusForbidden, msg)
	case errors.As(err, &pe):
		s.renderError(w, r, pe.code, pe.msg)
	case errors.Is(err, status.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "Not found: "+err.Error())
	case errors.Is(err, status.ErrUnsupported):
		s.renderError(w, r, http.StatusNotImplemented, "This master does not support that action.")
	default:
		s.opts.Logger.Warn("web: action failed", "path", r.URL.Path, "user", user(r), "err", err)
		s.renderError(w, r, http.StatusBadGateway, "The master refused: "+err.Error())
	}
}

// check applies the Authz rule of act to subject.
func (s *Server) check(r *http.Request, act Action, subject any) error {
	if !s.opts.Authz.allowed(act, user(r), subject) {
		return errForbidden
	}
	return nil
}

// who names the user in build reasons and Control calls.
func who(r *http.Request) string {
	if u := user(r); u != "" {
		return u
	}
	return "anonymous"
}

func (s *Server) builderOf(r *http.Request) (*status.Builder, error) {
	b, err := s.opts.History.Builder(r.Context(), r.PathValue("builder"))
	if errors.Is(err, status.ErrNotFound) {
		return nil, notFound("No builder named %q.", r.PathValue("builder"))
	}
	return b, err
}

func (s *Server) buildOf(r *http.Request) (*status.Build, error) {
	n, ok := pathInt(r, "number")
	if !ok {
		return nil, notFound("Build number %q is not a number.", r.PathValue("number"))
	}
	b, err := s.opts.History.Build(r.Context(), r.PathValue("builder"), n)
	if errors.Is(err, status.ErrNotFound) {
		return nil, notFound("No build %d of builder %q.", n, r.PathValue("builder"))
	}
	return b, err
}

// formText returns a form field trimmed, without control characters, and
// at most 1000 bytes: it ends up in build reasons and properties.
func formText(r *http.Request, name string) string {
	v := strings.TrimSpace(r.PostFormValue(name))
	v = strings.Map(func(c rune) rune {
		if c < ' ' && c != '\t' || c == 0x7f {
			return -1
		}
		return c
	}, v)
	if len(v) > 1000 {
		v = v[:1000]
	}
	return v
}

func forceRequest(r *http.Request, builder string) status.ForceRequest {
	fr := status.ForceRequest{
		Builder: builder, Who: who(r), Reason: formText(r, "reason"),
		Branch: formText(r, "branch"), Revision: formText(r, "revision"),
		Repository: formText(r, "repository"), Project: formText(r, "project"),
	}
	if fr.Reason == "" {
		fr.Reason = "forced from the web by " + fr.Who
	}
	names, values := r.PostForm["property_name"], r.PostForm["property_value"]
	for i, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || i >= len(values) {
			continue
		}
		if fr.Properties == nil {
			fr.Properties = map[string]string{}
		}
		fr.Properties[n] = values[i]
	}
	return fr
}

func (s *Server) forceAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	b, err := s.builderOf(r)
	if err != nil {
		return "", "", err
	}
	if err := s.check(r, ForceBuild, b); err != nil {
		return "", "", err
	}
	if _, err := s.opts.Control.ForceBuild(r.Context(), forceRequest(r, b.Name)); err != nil {
		return "", "", err
	}
	return status.Links{}.Builder(b.Name), "Build forced on " + b.Name + ".", nil
}

func (s *Server) forceAllAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	if err := s.check(r, ForceAllBuilds, nil); err != nil {
		return "", "", err
	}
	names, err := s.selectedBuilders(r)
	if err != nil {
		return "", "", err
	}
	for _, n := range names {
		if _, err := s.opts.Control.ForceBuild(r.Context(), forceRequest(r, n)); err != nil {
			return "", "", fmt.Errorf("forcing %s: %w", n, err)
		}
	}
	return "/builders", fmt.Sprintf("Builds forced on %d builders.", len(names)), nil
}

// selectedBuilders returns the form's builder= fields, or every builder.
func (s *Server) selectedBuilders(r *http.Request) ([]string, error) {
	bs, err := s.opts.History.Builders(r.Context())
	if err != nil {
		return nil, err
	}
	want := r.PostForm["builder"]
	var names []string
	for _, b := range bs {
		if len(want) == 0 || slices.Contains(want, b.Name) {
			names = append(names, b.Name)
		}
	}
	return names, nil
}

func (s *Server) pingAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	b, err := s.builderOf(r)
	if err != nil {
		return "", "", err
	}
	if err := s.check(r, PingBuilder, b); err != nil {
		return "", "", err
	}
	if err := s.opts.Control.PingBuilder(r.Context(), b.Name); err != nil {
		return "", "", err
	}
	return status.Links{}.Builder(b.Name), "Pinged the workers of " + b.Name + ".", nil
}

func (s *Server) stopAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	b, err := s.buildOf(r)
	if err != nil {
		return "", "", err
	}
	if err := s.check(r, StopBuild, b); err != nil {
		return "", "", err
	}
	reason := formText(r, "reason")
	if err := s.opts.Control.StopBuild(r.Context(), b.Builder, b.Number, who(r), reason); err != nil {
		return "", "", err
	}
	return status.Links{}.Build(b.Builder, b.Number), fmt.Sprintf("Stopping build %d of %s.", b.Number, b.Builder), nil
}

// rebuildAction forces a build like an old one; Buildbot guards it with
// the forceBuild rule on the builder.
func (s *Server) rebuildAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	b, err := s.buildOf(r)
	if err != nil {
		return "", "", err
	}
	bl, err := s.opts.History.Builder(r.Context(), b.Builder)
	if err != nil {
		return "", "", err
	}
	if err := s.check(r, ForceBuild, bl); err != nil {
		return "", "", err
	}
	reason := formText(r, "reason")
	if err := s.opts.Control.Rebuild(r.Context(), b.Builder, b.Number, who(r), reason); err != nil {
		return "", "", err
	}
	return status.Links{}.Builder(b.Builder), fmt.Sprintf("Rebuilding build %d of %s.", b.Number, b.Builder), nil
}

func (s *Server) stopAllAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	if err := s.check(r, StopAllBuilds, nil); err != nil {
		return "", "", err
	}
	running, err := s.opts.History.Builds(r.Context(), status.BuildQuery{Running: true, Builders: r.PostForm["builder"]})
	if err != nil {
		return "", "", err
	}
	for _, b := range running {
		if err := s.opts.Control.StopBuild(r.Context(), b.Builder, b.Number, who(r), formText(r, "reason")); err != nil {
			return "", "", fmt.Errorf("stopping %s #%d: %w", b.Builder, b.Number, err)
		}
	}
	return "/builders", fmt.Sprintf("Stopping %d running builds.", len(running)), nil
}

func (s *Server) cancelAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	b, err := s.builderOf(r)
	if err != nil {
		return "", "", err
	}
	id := r.PostFormValue("id")
	pending, err := s.opts.History.Pending(r.Context(), b.Name)
	if err != nil {
		return "", "", err
	}
	if id == "all" {
		if err := s.check(r, CancelAllPendingBuilds, nil); err != nil {
			return "", "", err
		}
		for _, q := range pending {
			if err := s.opts.Control.CancelRequest(r.Context(), q.ID, who(r)); err != nil {
				return "", "", err
			}
		}
		return status.Links{}.Builder(b.Name), fmt.Sprintf("Cancelled %d pending builds of %s.", len(pending), b.Name), nil
	}
	for i := range pending {
		if pending[i].ID != id {
			continue
		}
		if err := s.check(r, CancelPendingBuild, &pending[i]); err != nil {
			return "", "", err
		}
		if err := s.opts.Control.CancelRequest(r.Context(), id, who(r)); err != nil {
			return "", "", err
		}
		return status.Links{}.Builder(b.Name), "Cancelled a pending build of " + b.Name + ".", nil
	}
	return "", "", notFound("No pending build request %q on %s.", id, b.Name)
}

func (s *Server) cancelAllAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	if err := s.check(r, CancelAllPendingBuilds, nil); err != nil {
		return "", "", err
	}
	names := r.PostForm["builder"]
	pending, err := s.opts.History.Pending(r.Context(), "")
	if err != nil {
		return "", "", err
	}
	n := 0
	for _, q := range pending {
		if len(names) > 0 && !slices.Contains(names, q.Builder) {
			continue
		}
		if err := s.opts.Control.CancelRequest(r.Context(), q.ID, who(r)); err != nil {
			return "", "", err
		}
		n++
	}
	return "/builders", fmt.Sprintf("Cancelled %d pending builds.", n), nil
}

func (s *Server) workerOf(r *http.Request) (*status.Worker, error) {
	ws, err := s.opts.History.Workers(r.Context())
	if err != nil {
		return nil, err
	}
	for i := range ws {
		if ws[i].Name == r.PathValue("worker") {
			return &ws[i], nil
		}
	}
	return nil, notFound("No worker named %q.", r.PathValue("worker"))
}

func (s *Server) shutdownWorkerAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	wk, err := s.workerOf(r)
	if err != nil {
		return "", "", err
	}
	if err := s.check(r, GracefulShutdown, wk); err != nil {
		return "", "", err
	}
	if err := s.opts.Control.ShutdownWorker(r.Context(), wk.Name); err != nil {
		return "", "", err
	}
	return "/buildslaves", "Worker " + wk.Name + " will shut down after its builds.", nil
}

func (s *Server) pauseWorkerAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	wk, err := s.workerOf(r)
	if err != nil {
		return "", "", err
	}
	if err := s.check(r, PauseSlave, wk); err != nil {
		return "", "", err
	}
	pause := r.PostFormValue("pause") != "false"
	if err := s.opts.Control.PauseWorker(r.Context(), wk.Name, pause); err != nil {
		return "", "", err
	}
	if pause {
		return "/buildslaves", "Worker " + wk.Name + " paused.", nil
	}
	return "/buildslaves", "Worker " + wk.Name + " unpaused.", nil
}

func (s *Server) stopChangeAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return "", "", notFound("Change %q is not a number.", r.PathValue("id"))
	}
	c, err := s.opts.History.Change(r.Context(), id)
	if err != nil {
		return "", "", err
	}
	if err := s.check(r, StopChange, c); err != nil {
		return "", "", err
	}
	if err := s.opts.Control.StopChange(r.Context(), id, who(r)); err != nil {
		return "", "", err
	}
	return "/changes/" + strconv.FormatInt(id, 10), fmt.Sprintf("Stopping the builds of change %d.", id), nil
}

func (s *Server) shutdownAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	if err := s.check(r, CleanShutdown, nil); err != nil {
		return "", "", err
	}
	if err := s.opts.Control.ShutdownMaster(r.Context(), true); err != nil {
		return "", "", err
	}
	return "/", "The master will shut down once running builds end.", nil
}

func (s *Server) cancelShutdownAction(w http.ResponseWriter, r *http.Request) (string, string, error) {
	if err := s.check(r, CleanShutdown, nil); err != nil {
		return "", "", err
	}
	if err := s.opts.Control.CancelShutdown(r.Context()); err != nil {
		return "", "", err
	}
	return "/", "Shutdown cancelled.", nil
}
