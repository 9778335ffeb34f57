package github

import "github.com/heraldci/herald/internal/forge"

// parseRepo finds owner and name in a repository URL as hosts give it to
// builds (forge.RepoPath): https://host/owner/name(.git),
// ssh://git@host[:port]/owner/name, git@host:owner/name.git. It does not
// care which host: GitHub Enterprise repositories parse the same way.
func parseRepo(raw string) (owner, name string, ok bool) {
	segs, ok := forge.RepoPath(raw, "")
	if !ok || len(segs) != 2 || !validOwner(segs[0]) || !validName(segs[1]) {
		return "", "", false
	}
	return segs[0], segs[1], true
}

// validOwner accepts user and organisation names. GitHub's own are letters,
// digits and hyphens; Enterprise servers that map LDAP names also allow
// dots and underscores, so those pass too.
func validOwner(s string) bool { return validName(s) }

// validName accepts repository names: forge.ValidSegment, up to GitHub's
// 100 characters.
func validName(s string) bool { return len(s) <= 100 && forge.ValidSegment(s) }
