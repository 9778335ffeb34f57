// Package web is Herald's WebStatus: the pages, JSON API and actions of
// Buildbot 0.8.12's web status, served by an http.Handler that reads a
// status.History and acts through a status.Control.
//
// A Server is made once with New and is safe for concurrent use. Mount it
// anywhere (set Options.Prefix when it is not at the root), or let it listen
// itself with ListenAndServe, ListenAndServeTLS or ServeUnix; Close stops what
// it started. Its own listeners bound every connection (Options.Timeouts:
// headers, whole requests, responses, idle keep-alives); a host serving it
// from its own http.Server gives that server the same limits with
// Timeouts.Apply.
//
// Pages link builders, builds, steps, logs and changes as status.Links
// builds them; other reporters given status.Links{Base: Options.BaseURL}
// link to the same places.
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
// the navigation bar follow.
//
// # Views and live updates
//
// The waterfall, /grid and /tgrid, /console, /buildstatus, the /rss and
// /atom feeds of failed builds, and the /png and /badge.svg status images
// (views.go lists them; Options.NumEvents, NumEventsMax, OrderConsoleByTime
// and FeedResults tune them) read History like every page. Add the Server
// to the Hub after the store, ideally as status.Multi(store, server) so each
// event reaches the store first: its events go out at /events as
// Server-Sent Events, and open pages redraw their live region in place
// (static/live.js). Each browser has a bounded buffer; one that falls behind
// loses events and is told to resynchronise, never slowing the Hub.
//
// # Authorization
//
// Actions (force, stop, ping, cancel, shutdown...) are Buildbot's Authz
// actions, offered only when the host's Control supports them (see
// ActionSupporter). Each has a Rule: Never (the default, except View), Always,
// Authenticated, or a func of the user and the action's subject. Users log in
// through a form (Authz.Auth: any auth.Authenticator, e.g. auth.Users,
// auth.OpenHtpasswd, auth.UsersDB or an auth.Func; failures throttled per
// address by Authz.Throttle, HTTP Basic credentials too) and get a signed session cookie, or are named by a trusted
// front end (Authz.UseHTTPHeader). Actions are POST only, refused from other
// sites, and redirect only to paths of this server.
package web
