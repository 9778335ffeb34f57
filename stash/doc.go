// Package stash reports builds to Bitbucket Server and Data Center
// (formerly Stash) through its build-status REST API: Buildbot 0.8.12's
// StashStatusPush.
//
// Each commit a build covers gets a build status keyed by builder:
// INPROGRESS when the build starts, then the state Options.States maps the
// result to (DefaultStates, or Buildbot's table BuildbotStates). Bitbucket
// keeps one status per commit and key, so the reporter remembers the last
// build it reported per key and commit: a late event from an older build
// never overwrites a newer one, and an identical repeat is not sent. With
// Options.Comment, a finished build of a pull request also comments on it
// (BitbucketServerPRCommentPush).
//
// Authentication is HTTP Basic (user and password) or a personal access
// token (Bearer). Rate limits (429, Retry-After) and server errors come back
// as status.Retryable errors; refusals (401, 403, 404, 400) are permanent
// errors (an *APIError) that say which commit and key, and what to check.
// What the server answers is capped and scrubbed of anything shaped like a
// credential before it goes into an error or a log.
//
// Package stashtest is a double of the API for tests and demos.
package stash
