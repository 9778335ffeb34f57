package forge

import (
	"net/url"
	"strings"
)

// RepoPath finds the path of a repository in a URL as hosts give it to
// builds: https://host/group/name(.git), ssh://git@host[:port]/group/name,
// git://host/group/name and the scp-like git@host:group/name.git. under is
// the path a self-hosted forge is served below ("/gitlab"), removed from
// the start of the path when it is there. Each segment returned passes
// ValidSegment, so none can change the API path it goes into; ok is false
// for anything else. It does not care which host.
func RepoPath(raw, under string) (segments []string, ok bool) {
	raw = strings.TrimSpace(raw)
	var path string
	if i := strings.Index(raw, "://"); i >= 0 {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, false
		}
		path = u.EscapedPath() // an encoded "/" is no separator, and fails ValidSegment
		if under = strings.Trim(under, "/"); under != "" {
			if rest, found := strings.CutPrefix(path, "/"+under+"/"); found {
				path = rest
			}
		}
	} else {
		// scp-like: [user@]host:path.
		colon := strings.IndexByte(raw, ':')
		// A colon after a slash belongs to a local path, and one after a
		// single letter to a Windows drive: neither is this form.
		if colon <= 1 || strings.IndexByte(raw[:colon], '/') >= 0 {
			return nil, false
		}
		path = raw[colon+1:]
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	if path == "" {
		return nil, false
	}
	segments = strings.Split(path, "/")
	for _, s := range segments {
		if !ValidSegment(s) {
			return nil, false
		}
	}
	return segments, true
}

// ValidSegment accepts one segment of a repository path (an owner, a
// group, a name): letters, digits, '.', '-' and '_', up to 255 bytes, not
// "." or "..". Anything else could change the API path it goes into.
func ValidSegment(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 255 {
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
