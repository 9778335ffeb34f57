// Package github reports builds as commit statuses on GitHub and GitHub
// Enterprise Server: Buildbot 0.8.12's GitHubStatus.
//
// A started build sets a pending status on each commit it builds; a
// finished build sets success, failure or error (a build that will be
// retried goes back to pending). The statuses go through the REST API with
// github.com/google/go-github, authenticated by a token (x/oauth2) or by an
// http.Client the host provides (a GitHub App installation transport, for
// example).
//
// The reporter keeps to the limits of the API: descriptions are cut to 140
// characters, a status identical to the last one set for the same commit and
// context is not sent again, and no more than 1000 statuses are sent per
// commit and context (GitHub refuses more). Rate limits, secondary limits
// and server errors come back as status.Retryable errors carrying the wait
// GitHub asked for, so a status.Hub retries at the right time; a missing
// repository, a bad token or an unknown commit are permanent errors that
// name the repository, commit and context.
package github
