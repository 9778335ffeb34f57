// Package slack is Herald's Slack bot, on package chat's command engine.
//
// Announcements (the notify events of each channel: started, failure,
// successToFailure, …) are Block Kit messages, a section with the build's
// summary and a context line with its link and blamelist, plus a plain-text
// fallback. They go out through the Web API (chat.postMessage with a bot
// token) to Options.Channels, or through an incoming webhook to the one
// channel it was made for.
//
// Commands come as slash commands: the Bot is an http.Handler that checks
// Slack's request signature with the app's signing secret and answers
// "/herald status", "/herald force build linux", "/herald help" and the
// rest of the engine's commands. A command slower than Slack's 3 seconds
// (a slow History or Control) is answered "Working on it…" at once and
// its answer is POSTed to the command's response_url when it ends. Socket
// Mode is not supported.
//
// Errors follow Herald's rules: a rate limit (429 with Retry-After) and
// Slack's outages are status.Retryable (the Hub's retry posts only to the
// channels that did not get the announcement), a refused token or webhook is
// permanent, and no token, webhook URL or signing secret ever shows in an
// error, a log line or the Bot printed.
package slack
