// Package gitlab reports builds as commit statuses on GitLab.com and
// self-managed GitLab, through gitlab.com/gitlab-org/api/client-go: what
// current Buildbot calls GitLabStatusPush.
//
// A started build sets running on each commit it builds, under a name per
// builder; a finished build sets the state Options.States maps its result
// to (success, failed, canceled; pending for a build that will be
// retried). GitLab needs no pipeline for these: it keeps them in an
// external pipeline of the commit's ref (Options.Ref, by default the
// build's branch; without one GitLab finds the commit's). The project is
// a numeric ID or a path (group/subgroup/name), by default read from the
// source stamp's repository URL. Descriptions are cut to GitLab's 255
// characters. With Options.Note, a finished build of a merge request also
// leaves a note on it (on failures only with NoteOnFailure).
//
// The token is a personal, project or group access token (sent as
// PRIVATE-TOKEN) or an OAuth2 token source (Bearer). The client's own
// retries and client-side rate limiter are turned off: rate limits (429
// with Retry-After or RateLimit-Reset) and server errors come back as
// status.Retryable errors carrying GitLab's wait, and the status.Hub
// waits. GitLab's refusal to move a status backwards ("Cannot transition
// status", 400 or 409) is not an error: the status is skipped and logged
// at debug level. Other refusals are permanent errors (an *APIError) that
// say which project, commit and name, and what to check; what GitLab
// answers is capped and scrubbed of anything shaped like a credential.
//
// Package gitlabtest is a double of the API for tests and demos.
package gitlab
