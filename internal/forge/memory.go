package forge

import (
	"strings"
	"sync"
)

// DefaultMemorySize is how many commit+name pairs a Memory remembers when
// its Size is 0.
const DefaultMemorySize = 4096

// Key is where a forge keeps one status: a repository ("" when the forge's
// address names it already), a commit, and the status's name on it
// (GitHub's context, Bitbucket's key). Repository and commit compare
// without regard to case, as forges treat them.
type Key struct {
	Repo, SHA, Name string
}

func (k Key) norm() Key {
	return Key{Repo: strings.ToLower(k.Repo), SHA: strings.ToLower(k.SHA), Name: k.Name}
}

// Sent is one status as set on a forge, and the build it came from.
type Sent struct {
	Build                   int  // the build number
	Finished                bool // whether it reported the build's end
	State, Description, URL string
}

// Verdict says whether a status should be sent.
type Verdict int

const (
	// Send: nothing newer was set under the key, and the cap is not reached.
	Send Verdict = iota
	// Repeat: the same status is set already; a retried event lands here
	// for the statuses that went through the first time.
	Repeat
	// Stale: a newer build was reported under the key (a late event of an
	// older build, which would overwrite the newer status).
	Stale
	// Capped: the forge keeps no more statuses for the key.
	Capped
)

func (v Verdict) String() string {
	switch v {
	case Send:
		return "send"
	case Repeat:
		return "repeat"
	case Stale:
		return "stale"
	case Capped:
		return "capped"
	}
	return "verdict?"
}

// Memory remembers the last status set per Key. It is bounded: the keys
// seen longest ago are forgotten first (then their next status is sent,
// which costs one request). The zero Memory is ready, without a cap, of
// DefaultMemorySize keys. Safe for concurrent use.
type Memory struct {
	// Cap is how many statuses the forge keeps per key (GitHub: 1000);
	// 0 for none.
	Cap int
	// Size bounds the keys remembered; 0 for DefaultMemorySize.
	Size int

	once sync.Once
	m    Recent[Key, entry]
}

type entry struct {
	last  Sent
	count int
}

func (m *Memory) recent() *Recent[Key, entry] {
	m.once.Do(func() { m.m.Size = m.Size })
	return &m.m
}

// Check says whether s should be sent under k, and what was set last. It
// does not record s: call Record once the forge took it.
func (m *Memory) Check(k Key, s Sent) (Verdict, Sent) {
	e, ok := m.recent().Get(k.norm())
	switch {
	case !ok:
		return Send, Sent{}
	case s.Build < e.last.Build || s.Build == e.last.Build && e.last.Finished && !s.Finished:
		return Stale, e.last
	case s == e.last:
		return Repeat, e.last
	case m.Cap > 0 && e.count >= m.Cap:
		return Capped, e.last
	}
	return Send, e.last
}

// Record notes that the forge took s under k.
func (m *Memory) Record(k Key, s Sent) {
	m.recent().Update(k.norm(), func(e entry, _ bool) entry {
		return entry{last: s, count: e.count + 1}
	})
}

// Len is how many keys are remembered.
func (m *Memory) Len() int { return m.recent().Len() }
