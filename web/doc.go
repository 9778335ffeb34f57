// Package web is Herald's WebStatus: the pages, JSON API and actions of
// Buildbot 0.8.12's web status, served by an http.Handler that reads a
// status.History and acts through a status.Control.
//
// A Server is made once with New and is safe for concurrent use. Mount it
// anywhere (set Options.Prefix when it is not at the root), or let it listen
// itself with ListenAndServe, ListenAndServeTLS or ServeUnix; Close stops what
// it started.
//
// # Pages
//
// Every page is an entry in the page table of routes.go, rendered through
// one shared layout (templates/layout.html) and parsed with the query
// helpers of query.go. A new view is a new file with its handler and
// template plus one line in that table; robots.txt and the navigation pick
// it up from there.
//
// # Authorization
//
// Actions (force, stop, ping, cancel, shutdown...) are Buildbot's Authz
// actions. Each has a Rule: Never (the default, except View), Always,
// Authenticated, or a func of the user and the action's subject. Users log in
// through a form (Authz.Auth: BasicAuth, HTPasswdAuth, UsersAuth or an
// AuthFunc) and get a signed session cookie, or are named by a trusted
// front end (Authz.UseHTTPHeader). Actions are POST only, refused from other
// sites, and redirect only to paths of this server.
package web
