// Package irc is Herald's IRC bot, the successor of Buildbot's IRC status
// target (buildbot.status.words.IRC).
//
// A Bot joins channels, announces builds there and to chosen nicks (the
// notify events: started, finished, a result, or a transition such as
// successToFailure) and answers commands addressed to it ("bot: status
// linux") or sent in private: list builders, status, watch, last, join,
// leave, notify, help, commands, source, version, and when enabled and
// authorized, force build, stop build and shutdown. The commands, the notify
// events, watches and the wording are package chat's engine, shared with any
// other chat transport; this package is IRC: the connection, line limits,
// flood control, colours, and the join and leave commands. Queries read a
// status.History; actions go through a status.Control. Like Buildbot's bot,
// it follows a build it forced and tells the requester when it starts and how
// it ended ("I'll give a shout when it finishes"). It declares the kinds it
// needs (status.Selective): BuildStarted and BuildFinished.
//
// The bot speaks IRC itself, on the standard library only: it keeps every
// relayed line within 512 bytes, strips CR, LF and NUL from build data, paces
// what it sends with a token bucket (Options.Burst and Options.Interval) so
// servers never disconnect it for flooding, coalesces repeated announcements,
// logs in with NickServ or SASL PLAIN, and reconnects after Options.LostDelay
// or Options.FailedDelay, rejoining its channels. What it said is kept until
// the server answers a PING sent after it (one when it pauses, and one
// every 16 lines of a backlog), and said again on the next
// connection when the last one died first (IRC acknowledges nothing else:
// a line written as the connection dies would be lost). Report only queues lines,
// so a slow or absent server never blocks the status.Hub; a full queue makes
// Report return a Retryable ErrQueueFull. Close lets the queue drain within
// its context, then QUITs.
//
// Differences from Buildbot 0.8.12: nicks talking to the bot in private start
// with no notify events (Buildbot gave them the configured ones); status all
// and last all pack their answer into as few lines as fit, so 50 builders
// cost a few lines of flood control, not 50; the silly commands (hello,
// dance, destroy) and mute are left out; answers to commands go out before
// queued announcements. Options keep Go's zero values useful: NoColors is
// Buildbot's useColors=False, NoBlameList its showBlameList=False.
package irc
