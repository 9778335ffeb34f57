// Package chat is the command engine of Herald's chat bots, apart from any
// chat network: the commands people type (list builders, status, last,
// watch, notify, help, commands, source, version, and when enabled and
// authorized force build, stop build and shutdown), the notify events each
// room or person chose, watches, the follow-up of forced builds, and the
// wording of what a bot says about builds.
//
// A transport connects an Engine to a network (package irc does for IRC; a
// Slack, Matrix or Telegram bot would do the same): it hands the Engine
// what people say to the bot with Execute, passes it build events with
// Report, tells it which rooms it is in with Join and Leave, and delivers
// what the Engine says through its Transport: the network's line limits,
// flood control, colours (Options.Highlight) and addressing stay with the
// transport, so every bot answers the same commands the same way.
//
// The Transport gets the caller's context: Report's for announcements, the
// command's for answers. When one room of several refuses an event for a
// while (a Retryable error: a rate limit, a full queue) the Hub retries the
// event, and the Engine, which remembers per Event.ID what it did not
// deliver, says it only where it is missing.
//
// Queries read a status.History; actions go through a status.Control,
// after Options.Authz. The Engine is safe for concurrent use.
package chat
