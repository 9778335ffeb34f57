// Package bitbucket reports builds as build statuses on Bitbucket Cloud
// (POST /2.0/repositories/{workspace}/{repo_slug}/commit/{commit}/statuses/build):
// what current Buildbot calls BitbucketStatusPush. For Bitbucket Server
// and Data Center use package stash.
//
// Each commit a build covers gets a build status keyed by builder:
// INPROGRESS when the build starts, then the state Options.States maps the
// result to (SUCCESSFUL, FAILED, STOPPED). Bitbucket keeps one status per
// commit and key, so a late event from an older build never overwrites a
// newer one, and an identical repeat is not sent. Keys longer than
// Bitbucket's 40 characters are cut and end in a hash of the whole key.
// The workspace and repository are read from the source stamp's
// repository URL unless Options.Repo names them.
//
// Authentication is HTTP Basic with a user and an app password (or an
// API token), or an access token of a repository, project or workspace
// (Bearer). Rate limits (429) and server errors come back as
// status.Retryable errors; refusals (400, 401, 403, 404) are permanent
// errors (an *APIError) that say which commit and key, and what to check.
// What Bitbucket answers is capped and scrubbed of anything shaped like a
// credential.
//
// Package bitbuckettest is a double of the API for tests and demos.
package bitbucket
