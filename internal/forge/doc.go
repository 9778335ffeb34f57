// Package forge holds what every commit-status target shares: the github,
// gitlab, gitea, bitbucket and stash packages. A target built on it reads the same way as the others:
//
//   - a table from build results to the forge's state names (States,
//     CheckStates), configurable by the host, with the forge's default and a
//     Buildbot preset beside it;
//   - which revisions are commits (IsSHA, IsFullSHA) and the keywords of its
//     text templates (Keywords);
//   - texts cut to the forge's limits (Cut, ShortKey);
//   - a bounded memory of what was set per commit and name (Memory), so
//     identical repeats are not sent, late events of an older build do not
//     overwrite a newer one, and a forge's cap per commit is kept;
//   - one status per commit, the errors joined so that any retryable one
//     makes the event retryable (Join);
//   - the error a refused status becomes (Error), with the forge's reply
//     capped and scrubbed of credentials before it goes into a message or a
//     log (Reply).
package forge
