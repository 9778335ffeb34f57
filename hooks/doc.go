// Package hooks turns webhook requests into source changes: the Go form of
// Buildbot 0.8.12's /change_hook/DIALECT endpoint.
//
// A Handler is an http.Handler. It serves each enabled Dialect at the last
// element of the request path, so it is mounted at Buildbot's URL
//
//	mux.Handle("/change_hook/", handler) // POST /change_hook/github
//
// or under any prefix. For every accepted request it calls the host's
// Options.OnChanges with the changes in payload order; the host records them
// and schedules builds.
//
// Dialects: Base (Buildbot's post_build_request form), GitHub (push,
// pull_request, ping; HMAC signatures), Bitbucket (the POST service, Cloud
// repo:push and Server repo:refs_changed), GitLab (push, tag push, merge
// request; secret token), Gitorious, GoogleCode (HMAC-MD5) and Poller (asks
// the host's polling change sources to poll now). A host may add its own
// Dialect.
//
// Hardening is the Handler's job, not each dialect's: optional HTTP Basic
// authentication (Options.Auth: any auth.Authenticator, e.g. a Buildbot
// change_hook_auth file read by auth.OpenCleartext or an htpasswd file read
// by auth.OpenHtpasswd; failures throttled per address), a body limit (413), method (405) and content type (415) checks,
// signatures verified with hmac.Equal before the payload is decoded (403),
// malformed payloads answered 400 with a reason, host failures answered 500
// so the forge retries, and duplicate deliveries (X-GitHub-Delivery,
// X-Gitlab-Event-UUID, X-Request-UUID) acknowledged without being processed
// twice. Secrets and passwords are never logged. The Handler reads whole
// bodies: serve it from an http.Server with ReadTimeout (or
// ReadHeaderTimeout and a deadline) so that slow clients cannot hold it.
//
// The GitHub push decoder reads only the fields changes need and allocates a
// handful of times per request whatever the number of commits: about four
// times faster than encoding/json (see BenchmarkGitHubPush and, against
// go-playground/webhooks, the benchcmp module beside this package).
package hooks
