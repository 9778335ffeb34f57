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
// Dialects: Base (Buildbot's post_build_request form, POST or GET), GitHub
// (push, pull_request, ping; HMAC signatures; skip patterns; a pull
// request's changed files through the API with a token), Bitbucket (the POST
// service; Cloud repo:push and pull requests; Server / Data Center
// repo:refs_changed, pr:opened, pr:from_ref_updated and pr:merged), GitLab
// (push, tag push, merge request, note; secret token), Gitorious,
// GoogleCode (HMAC-MD5) and Poller (asks the host's polling change sources
// to poll now). A host may add its own Dialect.
//
// Hardening is the Handler's job, not each dialect's: optional HTTP Basic
// authentication (Options.Auth: any auth.Authenticator, e.g. a Buildbot
// change_hook_auth file read by auth.OpenCleartext or an htpasswd file read
// by auth.OpenHtpasswd; guesses throttled per address, 429), checked first;
// then what the headers alone decide (content type 415, a missing or wrong
// token or a missing signature 403) before any body byte is read; a body
// limit (413) with a buffer that grows only as bytes arrive and a time limit
// for the body (408, Options.BodyTimeout); signatures verified with
// hmac.Equal before the payload is decoded (403); malformed payloads, and
// payloads that should make changes but cannot, answered 400 with a reason,
// never "200, 0 changes"; at most Options.MaxChanges changes per delivery
// (413); host failures answered 500 so the forge retries; and duplicate
// deliveries (X-GitHub-Delivery, X-Gitlab-Event-UUID, X-Request-UUID)
// acknowledged without being processed twice. Secrets and passwords are
// never logged. Changes whose payload gives no time get the time of receipt.
//
// Payloads are decoded by the JSON v2 engine
// (github.com/go-json-experiment/json) into structs of the fields changes
// need: several times faster than go-playground/webhooks on a GitHub push
// (see BenchmarkGitHubPush and the benchcmp module beside this package).
package hooks
