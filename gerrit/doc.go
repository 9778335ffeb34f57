// Package gerrit reports builds to Gerrit Code Review as review messages and
// votes: Buildbot 0.8.12's GerritStatusPush.
//
// A Reporter finds the change a build is about in the properties a Gerrit
// change source sets (event.change.number, event.patchSet.number,
// event.change.project, event.patchSet.revision; the names are configurable)
// and posts a Review, a message with optional label votes, through one of two
// transports:
//
//   - SSH: "gerrit review" on Gerrit's SSH daemon (port 29418), with the host
//     key always verified against a known_hosts file or a pinned key;
//   - REST: the set-review endpoint, with the account's HTTP password.
//
// As in Buildbot, the default is one summary review per finished build set:
// Verified +1 when every build succeeded, -1 otherwise, and a message listing
// each builder with its result and URL. ReviewCB adds a review per finished
// build and StartCB a message when a build starts. Builds that carry no
// Gerrit change are ignored.
//
// Failures that may pass (connection refused, timeouts, HTTP 5xx, a busy
// server) are returned as status.Retryable; authentication failures, unknown
// changes and refused votes are permanent and say what Gerrit answered.
package gerrit
