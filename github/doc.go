// Package github reports builds as commit statuses on GitHub and GitHub
// Enterprise Server: Buildbot 0.8.12's GitHubStatus.
//
// A started build sets a pending status on each commit it builds; a
// finished build sets the state Options.States maps its result to
// (DefaultStates, or Buildbot's table BuildbotStates). The statuses go
// through the REST API with github.com/google/go-github, authenticated by a
// token, a token source (x/oauth2: GitHub App installation tokens, rotated
// tokens) or an http.Client the host provides. An abbreviated revision is
// resolved to the full SHA through the API, never sent as a commit. With
// Options.Comment, a finished build of a pull request also comments on it
// (GitHubCommentPush).
//
// With Options.Checks the builds become check runs (the Checks API) instead,
// for GitHub App installation tokens: a run per build and commit, named
// like the status context, in_progress while the build runs, then completed
// with the conclusion Options.Conclusions maps its result to
// (DefaultConclusions), a link to the build, external_id builder/number, a
// Markdown summary of the steps and blamelist, the last Options.LogLines
// lines of the failing step's log (read from Options.History) and an
// annotation for each line of a failing or warning step's log that names
// path:line or path:line:col, 50 annotations a request. The run a build's
// start created is remembered (boundedly) so its end completes it; after a
// restart the end creates the run completed.
//
// The reporter keeps to the limits of the API: descriptions are cut to 140
// characters, a status identical to the last one set for the same commit and
// context is not sent again, an older build's late status does not replace
// a newer one's, and no more than 1000 statuses are sent per commit and
// context (GitHub refuses more). Rate limits, secondary limits and server
// errors come back as status.Retryable errors carrying the wait GitHub
// asked for, so a status.Hub retries at the right time; a missing
// repository, a bad token or an unknown commit are permanent errors (an
// *APIError) that name the repository, commit and context. What GitHub
// answers is capped and scrubbed of anything shaped like a credential
// before it goes into an error.
//
// Package githubtest is a double of the API for tests and demos.
package github
