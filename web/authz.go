package web

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
)

// Action is one of Buildbot's Authz actions.
type Action string

// The actions, with Buildbot's names.
const (
	View                   Action = "view"
	ForceBuild             Action = "forceBuild"
	ForceAllBuilds         Action = "forceAllBuilds"
	PingBuilder            Action = "pingBuilder"
	GracefulShutdown       Action = "gracefulShutdown"
	PauseSlave             Action = "pauseSlave"
	StopBuild              Action = "stopBuild"
	StopAllBuilds          Action = "stopAllBuilds"
	CancelPendingBuild     Action = "cancelPendingBuild"
	CancelAllPendingBuilds Action = "cancelAllPendingBuilds"
	StopChange             Action = "stopChange"
	CleanShutdown          Action = "cleanShutdown"
	ShowUsersPage          Action = "showUsersPage"
)

// Actions lists every action.
func Actions() []Action {
	return []Action{View, ForceBuild, ForceAllBuilds, PingBuilder, GracefulShutdown, PauseSlave,
		StopBuild, StopAllBuilds, CancelPendingBuild, CancelAllPendingBuilds, StopChange,
		CleanShutdown, ShowUsersPage}
}

// A Rule decides whether user ("" when anonymous) may perform an action on
// subject: *status.Builder for ForceBuild and PingBuilder, *status.Build for
// StopBuild, *status.BuildRequest for CancelPendingBuild, *status.Change for
// StopChange, *status.Worker for GracefulShutdown and PauseSlave, nil for the
// others. Rules are called concurrently and must not block.
type Rule func(user string, subject any) bool

// Never refuses the action: Buildbot's False, the default.
func Never(string, any) bool { return false }

// Always allows the action to anyone: Buildbot's True.
func Always(string, any) bool { return true }

// Authenticated allows the action to logged-in users: Buildbot's 'auth'.
func Authenticated(user string, _ any) bool { return user != "" }

// Authz is Buildbot's Authz: who may do what, and how users log in.
type Authz struct {
	// Rules maps actions to rules; a missing action is Never, except View,
	// which is Always (Buildbot's defaults).
	Rules map[Action]Rule
	// Auth checks logins from the login form (and HTTP Basic credentials
	// sent by scripts). Nil: nobody can log in.
	Auth auth.Authenticator
	// Throttle limits failed logins per client address, on the form and
	// for HTTP Basic credentials (default: 10 in 10 minutes). Share one
	// with the hooks and the stream to count guesses across them.
	Throttle *auth.Throttle
	// SessionKey signs session cookies. Empty: a random key per Server, so
	// sessions end when the process restarts. Use 32 random bytes.
	SessionKey status.Secret
	// SessionTTL is how long a login lasts (default 12 hours).
	SessionTTL time.Duration

	// UseHTTPHeader trusts a front end that authenticated the user: the
	// user is taken from UserHeader, or else from the user part of an HTTP
	// Basic Authorization header, but only on requests from TrustedProxies.
	UseHTTPHeader bool
	// UserHeader names the header carrying the user (default
	// "X-Forwarded-User").
	UserHeader string
	// TrustedProxies are the front ends' addresses (default loopback only).
	TrustedProxies []netip.Prefix
	// HTTPLoginURL is shown to anonymous users as a Login link (the front
	// end's login page) instead of the login form.
	HTTPLoginURL string
}

func (a *Authz) validate() error {
	for act := range a.Rules {
		if !knownAction(act) {
			return fmt.Errorf("web: Authz.Rules has unknown action %q: use one of the web.Action constants", act)
		}
	}
	if k := a.SessionKey.Reveal(); k != "" && len(k) < 16 {
		return errors.New("web: Authz.SessionKey is shorter than 16 bytes: use 32 random bytes")
	}
	if a.SessionTTL < 0 {
		return errors.New("web: Authz.SessionTTL is negative: use a positive duration, or 0 for 12h")
	}
	if a.SessionTTL == 0 {
		a.SessionTTL = 12 * time.Hour
	}
	if a.Throttle == nil {
		a.Throttle = auth.NewThrottle(0, 0)
	}
	if a.UserHeader == "" {
		a.UserHeader = "X-Forwarded-User"
	}
	if a.UseHTTPHeader && len(a.TrustedProxies) == 0 {
		a.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	return nil
}

func knownAction(a Action) bool {
	for _, k := range Actions() {
		if k == a {
			return true
		}
	}
	return false
}

// allowed reports whether user may perform act on subject.
func (a *Authz) allowed(act Action, user string, subject any) bool {
	r, ok := a.Rules[act]
	if !ok || r == nil {
		return act == View
	}
	return r(user, subject)
}

// ActionSupporter is an optional interface of Options.Control, for a host
// that implements only some actions: the pages offer forms only for the
// actions SupportsAction accepts. A Control without it has every action
// offered until it answers status.ErrUnsupported to one.
type ActionSupporter interface {
	SupportsAction(act Action) bool
}

// supports reports whether the host can perform act at all.
func (s *Server) supports(act Action) bool {
	if s.opts.Control == nil {
		return false
	}
	if as, ok := s.opts.Control.(ActionSupporter); ok && !as.SupportsAction(act) {
		return false
	}
	_, learned := s.unsupported.Load(act)
	return !learned
}
