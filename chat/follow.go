package chat

import (
	"slices"

	"github.com/heraldci/herald/status"
)

// A forced build is followed as Buildbot's bot did: "force build" answers
// that the build is queued, the start is announced to the requester
// ("build #7 forced; I'll give a shout when it finishes") and so is the
// result. The build is found by the BuildSetID of the request that
// Control.ForceBuild returned.

// follow is a forced build waiting to start.
type follow struct {
	contact string // fold(name) of where it was asked
	sender  string // who asked
	builder string
	setID   string
}

// recentBuild is a build the bot saw start or finish lately, so a follow
// registered after its build started (a fast master, a slow Control) still
// finds it.
type recentBuild struct {
	key   string // builder and build set ID
	build *status.Build
}

// maxRecent bounds the builds remembered for late follows.
const maxRecent = 256

func followKey(builder, setID string) string { return builder + "\x00" + setID }

// seen records build for late follows and returns the follows it starts,
// removing them; e.mu is held.
func (e *Engine) seenLocked(build *status.Build) []follow {
	if build.BuildSetID == "" {
		return nil
	}
	key := followKey(build.Builder, build.BuildSetID)
	if i := slices.IndexFunc(e.recent, func(r recentBuild) bool { return r.key == key }); i >= 0 {
		e.recent = slices.Delete(e.recent, i, i+1)
	}
	if len(e.recent) >= maxRecent {
		e.recent = slices.Delete(e.recent, 0, len(e.recent)-maxRecent+1)
	}
	e.recent = append(e.recent, recentBuild{key: key, build: build})
	var started []follow
	e.follows = slices.DeleteFunc(e.follows, func(f follow) bool {
		if f.builder == build.Builder && f.setID == build.BuildSetID {
			started = append(started, f)
			return true
		}
		return false
	})
	return started
}

// followStarted adds to d what the requesters of a forced build are told:
// that it started, and how it ended if it did; a build still running has
// its end announced to them later.
func (e *Engine) followStarted(d *delivery, build *status.Build, fs []follow) {
	for _, f := range fs {
		e.mu.Lock()
		c := e.contacts[f.contact]
		if c != nil && !build.Done() {
			e.addWatchLocked(watch{contact: f.contact, sender: f.sender, builder: build.Builder, number: build.Number})
		}
		e.mu.Unlock()
		if c == nil {
			continue
		}
		d.add(c.name, e.addressTo(c.name, f.sender, e.format.forcedStarted(build)))
		if build.Done() {
			for _, l := range e.format.watched(build) {
				d.add(c.name, e.addressTo(c.name, f.sender, l))
			}
		}
	}
}

// addWatchLocked adds w, dropping the oldest watches beyond maxWatches
// (builds that finished unseen leave watches behind); e.mu is held.
func (e *Engine) addWatchLocked(w watch) {
	e.watches = append(e.watches, w)
	if n := len(e.watches) - maxWatches; n > 0 {
		e.watches = slices.Delete(e.watches, 0, n)
	}
}

// startFollow follows the build a force command queued: at once when the
// bot already saw it start, else when it does. It returns the build already
// seen, if any.
func (e *Engine) startFollow(to, sender string, req *status.BuildRequest) *status.Build {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.contactLocked(to)
	key := followKey(req.Builder, req.BuildSetID)
	if i := slices.IndexFunc(e.recent, func(r recentBuild) bool { return r.key == key }); i >= 0 {
		return e.recent[i].build
	}
	e.follows = append(e.follows, follow{contact: fold(c.name), sender: sender, builder: req.Builder, setID: req.BuildSetID})
	if n := len(e.follows) - maxWatches; n > 0 {
		e.follows = slices.Delete(e.follows, 0, n)
	}
	return nil
}

// addressTo prefixes text with "sender: " in a room, so the requester is
// highlighted; in private it goes to them anyway.
func (e *Engine) addressTo(to, sender, text string) string {
	if sender == "" || !e.t.IsRoom(to) {
		return text
	}
	return sender + ": " + text
}
