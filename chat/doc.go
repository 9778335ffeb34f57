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
// Queries read a status.History; actions go through a status.Control,
// after Options.Authz. The Engine is safe for concurrent use.
package chat
