// Package telegram is a Telegram bot over the Bot API (net/http, no
// library) on package chat's command engine: it announces builds in the
// chats of Options.Chats, and answers the commands of package chat typed as
// "/status", "/force linux reason", "@botname status", or as plain text in
// a private chat.
//
// A Bot is a status.Reporter (announcing BuildStarted and BuildFinished as
// the chat engine does) and a status.Closer. Unless Options.NoCommands is
// set it long-polls getUpdates; Close ends the poll. Report sends with
// sendMessage before it returns, so the Hub retries what Telegram refused
// for a while: 429 (waiting parameters.retry_after), 5xx and network
// errors are status.Retryable; 400, 401, 403 and 404 are not.
//
// The bot token is part of every request's URL path: the Bot keeps it out
// of its errors (net/http's *url.Error names the URL) and logs, and scrubs
// Telegram's replies with status.ReplyText.
package telegram
