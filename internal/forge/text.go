package forge

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/heraldci/herald/status"
)

// IsSHA reports whether s is a full or abbreviated commit hash (SHA-1 or
// SHA-256, at least 7 hex digits). Other revisions (Subversion numbers,
// branch names) are no commit a forge holds a status for, and a hash is
// safe in a URL path.
func IsSHA(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// IsFullSHA reports whether s is a whole commit hash: 40 hex digits
// (SHA-1) or 64 (SHA-256).
func IsFullSHA(s string) bool { return (len(s) == 40 || len(s) == 64) && IsSHA(s) }

// Keywords are the %(kw:NAME)s values of a commit-status target's
// templates: codebase, repository, branch, revision and project of the
// source stamp s (which may be nil), state (the forge's state being set),
// number (the build number) and result (once the build has finished).
func Keywords(b *status.Build, s *status.SourceStamp, state string) map[string]string {
	kw := map[string]string{"state": state, "number": strconv.Itoa(b.Number)}
	if b.Done() {
		kw["result"] = b.Result.String()
	}
	if s != nil {
		kw["codebase"], kw["repository"], kw["branch"] = s.Codebase, s.Repository, s.Branch
		kw["revision"], kw["project"] = s.Revision, s.Project
	}
	return kw
}

// Cut shortens s to at most n characters (runes), ending with "…" when it
// cut. Invalid UTF-8 is replaced first, since forges refuse it.
func Cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	count := 0
	for i := range s {
		if count == n-1 {
			return s[:i] + "…"
		}
		count++
	}
	return s
}

// ShortKey keeps k as it is up to n bytes; a longer key keeps its start and
// ends in "-" and 8 hex digits of its SHA-256, so two long keys that share a
// start still differ, and the same key always shortens the same way (forges
// match statuses by key: the result must replace the running status under
// the very same key). n must be at least 10.
func ShortKey(k string, n int) string {
	k = strings.ToValidUTF8(k, "\uFFFD")
	if len(k) <= n {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	suffix := "-" + hex.EncodeToString(sum[:4])
	cut := n - len(suffix)
	for cut > 0 && !utf8.RuneStart(k[cut]) {
		cut--
	}
	return k[:cut] + suffix
}
