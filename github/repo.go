package github

import (
	"net/url"
	"strings"
)

// parseRepo finds owner and name in a repository URL as hosts give it to
// builds: https://host/owner/name(.git), ssh://git@host[:port]/owner/name,
// git://host/owner/name and the scp-like git@host:owner/name.git. It does
// not care which host: GitHub Enterprise repositories parse the same way.
func parseRepo(raw string) (owner, name string, ok bool) {
	raw = strings.TrimSpace(raw)
	var path string
	if i := strings.Index(raw, "://"); i >= 0 {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return "", "", false
		}
		path = u.Path
	} else {
		// scp-like: [user@]host:path.
		colon := strings.IndexByte(raw, ':')
		// A colon after a slash belongs to a local path, and one after a
		// single letter to a Windows drive: neither is this form.
		if colon <= 1 || strings.IndexByte(raw[:colon], '/') >= 0 {
			return "", "", false
		}
		path = raw[colon+1:]
	}
	path = strings.Trim(path, "/")
	path = strings.TrimSuffix(path, ".git")
	owner, name, found := strings.Cut(path, "/")
	if !found || !validOwner(owner) || !validName(name) {
		return "", "", false
	}
	return owner, name, true
}

// validOwner accepts user and organisation names. GitHub's own are letters,
// digits and hyphens; Enterprise servers that map LDAP names also allow
// dots and underscores, so those pass too.
func validOwner(s string) bool { return validName(s) }

// validName accepts repository names: letters, digits, '.', '-' and '_',
// not "." or "..". Anything else could change the API path it goes into.
func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
