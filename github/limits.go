package github

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// GitHub's limits on commit statuses.
const (
	// maxDescription is the longest description GitHub accepts, in characters.
	maxDescription = 140
	// maxPerContext is how many statuses GitHub keeps per commit and
	// context; it refuses more with 422.
	maxPerContext = 1000
	// ledgerSize bounds how many commit+context pairs the reporter
	// remembers; the oldest are forgotten first.
	ledgerSize = 4096
)

// truncate cuts s to at most n characters, ending with an ellipsis when it
// cut. Invalid UTF-8 is replaced, since GitHub would refuse it.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for j := range s {
		if count == n-1 {
			i = j
			break
		}
		count++
	}
	return s[:i] + "…"
}

// statusKey is where GitHub counts statuses: one commit, one context.
// Owner, repository and SHA are case-insensitive on GitHub.
type statusKey struct {
	owner, repo, sha, context string
}

func newStatusKey(t *target) statusKey {
	return statusKey{
		owner:   strings.ToLower(t.owner),
		repo:    strings.ToLower(t.repo),
		sha:     strings.ToLower(t.sha),
		context: t.context,
	}
}

// sent is what the reporter last set on a commit and context.
type sent struct {
	state, description, targetURL string
	count                         int
}

// ledger remembers the statuses sent, so identical repeats are not sent
// again and no commit+context goes past GitHub's cap. It is bounded: the
// pairs seen longest ago are forgotten first. Safe for concurrent use.
type ledger struct {
	mu    sync.Mutex
	m     map[statusKey]*sent
	order []statusKey // insertion order, for eviction
}

// verdict says whether t should be sent.
type verdict int

const (
	send verdict = iota
	repeat
	capped
)

func (l *ledger) check(k statusKey, t *target) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.m[k]
	switch {
	case s == nil:
		return send
	case s.state == string(t.state) && s.description == t.description && s.targetURL == t.targetURL:
		return repeat
	case s.count >= maxPerContext:
		return capped
	}
	return send
}

// record notes that GitHub accepted t.
func (l *ledger) record(k statusKey, t *target) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[statusKey]*sent)
	}
	s := l.m[k]
	if s == nil {
		if len(l.order) >= ledgerSize {
			delete(l.m, l.order[0])
			l.order = l.order[1:]
		}
		s = &sent{}
		l.m[k] = s
		l.order = append(l.order, k)
	}
	s.state, s.description, s.targetURL = string(t.state), t.description, t.targetURL
	s.count++
}
