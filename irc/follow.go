package irc

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
	nick    string // who asked
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
// removing them; b.mu is held.
func (b *Bot) seenLocked(build *status.Build) []follow {
	if build.BuildSetID == "" {
		return nil
	}
	key := followKey(build.Builder, build.BuildSetID)
	if i := slices.IndexFunc(b.recent, func(r recentBuild) bool { return r.key == key }); i >= 0 {
		b.recent = slices.Delete(b.recent, i, i+1)
	}
	if len(b.recent) >= maxRecent {
		b.recent = slices.Delete(b.recent, 0, len(b.recent)-maxRecent+1)
	}
	b.recent = append(b.recent, recentBuild{key: key, build: build})
	var started []follow
	b.follows = slices.DeleteFunc(b.follows, func(f follow) bool {
		if f.builder == build.Builder && f.setID == build.BuildSetID {
			started = append(started, f)
			return true
		}
		return false
	})
	return started
}

// followStarted tells the requesters of a forced build that it started,
// and has its end announced to them.
func (b *Bot) followStarted(build *status.Build, fs []follow) []error {
	var errs []error
	for _, f := range fs {
		b.mu.Lock()
		c := b.contacts[f.contact]
		if c != nil && !build.Done() {
			b.addWatchLocked(watch{contact: f.contact, nick: f.nick, builder: build.Builder, number: build.Number})
		}
		b.mu.Unlock()
		if c == nil {
			continue
		}
		errs = append(errs, b.say(c.name, addressTo(c.name, f.nick, b.format.forcedStarted(build)), true))
		if build.Done() {
			for _, l := range b.format.watched(build) {
				errs = append(errs, b.say(c.name, addressTo(c.name, f.nick, l), true))
			}
		}
	}
	return errs
}

// addWatchLocked adds w, dropping the oldest watches beyond maxWatches
// (builds that finished unseen leave watches behind); b.mu is held.
func (b *Bot) addWatchLocked(w watch) {
	b.watches = append(b.watches, w)
	if n := len(b.watches) - maxWatches; n > 0 {
		b.watches = slices.Delete(b.watches, 0, n)
	}
}

// startFollow follows the build a force command queued: at once when the
// bot already saw it start, else when it does. It returns the build already
// seen, if any.
func (b *Bot) startFollow(to, nick string, req *status.BuildRequest) *status.Build {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.contactLocked(to)
	key := followKey(req.Builder, req.BuildSetID)
	if i := slices.IndexFunc(b.recent, func(r recentBuild) bool { return r.key == key }); i >= 0 {
		return b.recent[i].build
	}
	b.follows = append(b.follows, follow{contact: fold(c.name), nick: nick, builder: req.Builder, setID: req.BuildSetID})
	if n := len(b.follows) - maxWatches; n > 0 {
		b.follows = slices.Delete(b.follows, 0, n)
	}
	return nil
}

// addressTo prefixes text with "nick: " on a channel, so the requester is
// highlighted; in private it goes to them anyway.
func addressTo(to, nick, text string) string {
	if nick == "" || !isChannel(to) {
		return text
	}
	return nick + ": " + text
}
