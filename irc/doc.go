// Package irc is Herald's IRC bot, the successor of Buildbot's IRC status
// target (buildbot.status.words.IRC).
//
// A Bot joins channels, announces builds there and to chosen nicks (the
// notify events: started, finished, a result, or a transition such as
// successToFailure) and answers commands addressed to it ("bot: status
// linux") or sent in private: list builders, status, watch, last, join,
// leave, notify, help, commands, source, version, and when enabled and
// authorized, force build, stop build and shutdown. Queries read a
// status.History; actions go through a status.Control.
//
// The bot speaks IRC itself (a small client on net and bufio, see conn.go):
// it keeps every relayed line within 512 bytes, strips CR, LF and NUL from
// build data, paces what it sends with a token bucket (Options.Burst and
// Options.Interval) so servers never disconnect it for flooding, coalesces
// repeated announcements, logs in with NickServ or SASL PLAIN, and
// reconnects after Options.LostDelay or Options.FailedDelay, rejoining its
// channels. Report only queues lines, so a slow or absent server never
// blocks the status.Hub.
package irc
