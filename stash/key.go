package stash

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxKey is the longest key the reporter sends.
const maxKey = 40

// shortKey keeps k as it is up to maxKey bytes; a longer key keeps its
// start and ends in "-" and 8 hex digits of its SHA-256, so two long keys
// that share a start still differ, and the same key always gives the same
// short key (Bitbucket matches statuses by key: INPROGRESS must be replaced
// by the result under the very same key).
func shortKey(k string) string {
	k = strings.ToValidUTF8(k, "\uFFFD")
	if len(k) <= maxKey {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	suffix := "-" + hex.EncodeToString(sum[:4])
	cut := maxKey - len(suffix)
	for cut > 0 && !utf8.RuneStart(k[cut]) {
		cut--
	}
	return k[:cut] + suffix
}

// trackSize bounds how many commit+key pairs the tracker remembers.
const trackSize = 4096

type trackKey struct{ sha, key string }

// mark is how far the reporter got with a commit+key: which build, and
// whether its end was reported.
type mark struct {
	build    int
	finished bool
}

// tracker remembers the last build reported per commit and key, as
// StashStatusPush did, so events that arrive late (an older build's end
// after a newer build's start) do not overwrite the newer status. Bounded;
// safe for concurrent use.
type tracker struct {
	mu    sync.Mutex
	m     map[trackKey]mark
	order []trackKey
}

// admit reports whether an event of build number (its end when finished)
// is not older than what was reported for k, and if so records it. A
// repeat of the same event is admitted, so retries go through.
func (t *tracker) admit(k trackKey, number int, finished bool) (ok bool, last mark) {
	t.mu.Lock()
	defer t.mu.Unlock()
	last, seen := t.m[k]
	if seen && (number < last.build || number == last.build && last.finished && !finished) {
		return false, last
	}
	if t.m == nil {
		t.m = make(map[trackKey]mark)
	}
	if !seen {
		if len(t.order) >= trackSize {
			delete(t.m, t.order[0])
			t.order = t.order[1:]
		}
		t.order = append(t.order, k)
	}
	t.m[k] = mark{build: number, finished: finished}
	return true, last
}
