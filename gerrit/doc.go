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
//     key always verified against a known_hosts file or a pinned key; with
//     neither configured, and no client key, it uses what OpenSSH would
//     (~/.ssh/known_hosts; ssh-agent and ~/.ssh/id_ed25519, id_ecdsa, id_rsa);
//   - REST: the set-review endpoint, with the account's HTTP password.
//
// As in Buildbot, the default is one summary review per finished build set:
// Verified +1 when every build succeeded, -1 otherwise, and a message listing
// each builder with its result and URL. Options.Review adds a review per
// finished build and Options.StartMessage a message when a build starts.
// Builds that carry no Gerrit change are ignored. As in every Herald
// target, a message about a build is a status.Renderer (a Buildbot Interpolate
// template or a Go func) and anything richer is a func of the build or
// build set (ReviewFunc, SummaryFunc); Buildbot's *Arg parameters are
// closures. The Reporter declares the kinds it needs (status.Selective).
//
// Failures that may pass (connection refused, timeouts, HTTP 5xx, a busy
// server) are returned as status.Retryable; authentication failures (ErrAuth),
// untrusted host keys (ErrHostKey), unknown changes (status.ErrNotFound) and
// refused votes are permanent and say what Gerrit answered.
package gerrit
