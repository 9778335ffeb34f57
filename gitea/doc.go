// Package gitea reports builds as commit statuses on Gitea and Forgejo,
// through their REST API (POST /api/v1/repos/{owner}/{repo}/statuses/{sha}).
//
// A started build sets pending on each commit it builds, under a context
// per builder; a finished build sets the state Options.States maps its
// result to (success, warning, failure, error). The repository is read
// from the source stamp's repository URL unless Options.Repo names it;
// a status identical to the last one set for the same commit and context
// is not sent again, and an older build's late status does not replace a
// newer one's. The token is sent as "Authorization: token …".
//
// The package speaks net/http, not Gitea's Go SDK (code.gitea.io/sdk/gitea):
// its versions that fit Go 1.25 bring four modules for SSH-agent request
// signing, which Herald never uses, and its client asks the server's
// version before the first request; a status is one POST.
//
// Rate limits (429 with Retry-After, as a proxy before Gitea answers) and
// server errors come back as status.Retryable errors; refusals (401, 403,
// 404, 422) are permanent errors (an *APIError) that say which repository,
// commit and context, and what to check. What Gitea answers is capped and
// scrubbed of anything shaped like a credential.
//
// Package giteatest is a double of the API for tests and demos.
package gitea
