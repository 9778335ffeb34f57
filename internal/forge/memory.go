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

	mu    sync.Mutex
	m     map[Key]*entry
	order []Key // insertion order, for eviction
}

type entry struct {
	last  Sent
	count int
}

// Check says whether s should be sent under k. It does not record s: call
// Record once the forge took it.
func (m *Memory) Check(k Key, s Sent) (Verdict, Sent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.m[k.norm()]
	switch {
	case e == nil:
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
	k = k.norm()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[Key]*entry)
	}
	e := m.m[k]
	if e == nil {
		size := m.Size
		if size <= 0 {
			size = DefaultMemorySize
		}
		if len(m.order) >= size {
			delete(m.m, m.order[0])
			m.order = m.order[1:]
		}
		e = &entry{}
		m.m[k] = e
		m.order = append(m.order, k)
	}
	e.last = s
	e.count++
}

// Len is how many keys are remembered.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}
