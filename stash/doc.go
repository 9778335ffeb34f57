// Package stash reports builds to Bitbucket Server (formerly Stash) through
// its build-status REST API: Buildbot 0.8.12's StashStatusPush.
//
// Each commit a build covers gets a build status keyed by builder: INPROGRESS
// when the build starts, SUCCESSFUL or FAILED when it finishes. Bitbucket
// keeps one status per commit and key, so the reporter remembers the last
// build it reported per builder and commit: a late event from an older
// build never overwrites a newer one.
//
// Authentication is HTTP Basic (user and password) or a personal access
// token (Bearer). Rate limits (429, Retry-After) and server errors come back
// as status.Retryable errors; refusals (401, 403, 404, 400) are permanent
// errors that say which commit and key, and what to check.
package stash
