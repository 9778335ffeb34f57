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
// Every page is an entry in the page table of routes.go: a handler that
// returns a view (template file and data). Templates wrap their content in
// the shared layout ({{template "top" .}} ... {{template "bottom" .}}, in
// templates/layout.html) and reach the request through layoutData (user,
// Can for authorization, Here). Query arguments go through the helpers of
// query.go (queryList, queryInt, queryBool, queryTime, queryProperties) so
// builder=, branch=, numbuilds= mean the same everywhere. A new view is a
// new Go file and template plus one line in the page table; robots.txt and
// the navigation bar follow. Views that update live get the host's events
// through Server.Report.
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
