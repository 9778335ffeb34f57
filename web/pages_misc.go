package web

import (
	"errors"
	"maps"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
)

type changesData struct {
	Changes []status.Change
}

func (s *Server) changesPage(r *http.Request) (*view, error) {
	q := r.URL.Query()
	cs, err := s.opts.History.Changes(r.Context(), status.ChangeQuery{
		Branches: queryList(q, "branch"), Repositories: queryList(q, "repository"),
		Projects: queryList(q, "project"), Authors: queryList(q, "name"), Limit: s.numBuilds(r),
	})
	if err != nil {
		return nil, err
	}
	return &view{Template: "changes.html", Title: "Changes", Data: changesData{cs}}, nil
}

type changeData struct {
	Change *status.Change
	Builds []*status.Build
}

func (s *Server) changePage(r *http.Request) (*view, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, notFound("Change %q is not a number.", r.PathValue("id"))
	}
	c, err := s.opts.History.Change(r.Context(), id)
	if errors.Is(err, status.ErrNotFound) {
		return nil, notFound("No change %d.", id)
	}
	if err != nil {
		return nil, err
	}
	return &view{Template: "change.html", Title: "Change " + strconv.FormatInt(id, 10), Data: changeData{Change: c}}, nil
}

type workersData struct {
	Workers    []status.Worker
	NoBuilders bool
}

func (s *Server) workersPage(r *http.Request) (*view, error) {
	ws, err := s.opts.History.Workers(r.Context())
	if err != nil {
		return nil, err
	}
	return &view{Template: "buildslaves.html", Title: "Workers",
		Data: workersData{ws, queryBool(r.URL.Query(), "no_builders", false)}}, nil
}

// usersRedirect is /users: Buildbot's door to the users table, guarded by
// showUsersPage.
func (s *Server) usersRedirect(w http.ResponseWriter, r *http.Request) {
	if s.opts.Authz.allowed(ShowUsersPage, user(r), nil) {
		http.Redirect(w, r, s.opts.Prefix+"/users/table", http.StatusFound)
		return
	}
	if user(r) == "" && s.opts.Authz.Auth != nil {
		http.Redirect(w, r, s.opts.Prefix+"/login?next=/users/table", http.StatusFound)
		return
	}
	s.renderError(w, r, http.StatusForbidden, "You are not allowed to see the users.")
}

type usersData struct {
	Users []status.User
	User  *status.User
}

func (s *Server) users(r *http.Request) ([]status.User, error) {
	if !s.opts.Authz.allowed(ShowUsersPage, user(r), nil) {
		return nil, &pageError{http.StatusForbidden, "You are not allowed to see the users."}
	}
	return s.opts.History.Users(r.Context())
}

func (s *Server) usersTablePage(r *http.Request) (*view, error) {
	us, err := s.users(r)
	if err != nil {
		return nil, err
	}
	return &view{Template: "users.html", Title: "Users", Data: usersData{Users: us}}, nil
}

func (s *Server) userPage(r *http.Request) (*view, error) {
	us, err := s.users(r)
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, notFound("User %q is not a number.", r.PathValue("id"))
	}
	i := slices.IndexFunc(us, func(u status.User) bool { return u.ID == id })
	if i < 0 {
		return nil, notFound("No user %d.", id)
	}
	u := us[i]
	// The password hash is nobody's business, even hashed.
	u.Attributes = maps.Clone(u.Attributes)
	delete(u.Attributes, auth.PasswordAttribute)
	return &view{Template: "user.html", Title: "User " + u.Name, Data: usersData{User: &u}}, nil
}

type aboutData struct {
	Herald, Go string
	Deps       []*debug.Module
}

func (s *Server) aboutPage(r *http.Request) (*view, error) {
	d := aboutData{Herald: s.version, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		d.Deps = bi.Deps
	}
	return &view{Template: "about.html", Title: "About", Data: d}, nil
}
