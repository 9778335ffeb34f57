// Package matrix is a Herald chat bot on Matrix: it announces builds in
// rooms and answers the commands of package chat's engine (status, last,
// watch, notify, force, help, ...) through the Matrix client-server API.
//
// The bot long-polls GET /_matrix/client/v3/sync and runs the m.text
// messages addressed to it ("herald: status", "herald, last linux" or
// "!status") as commands, one at a time, answering in the room. The
// command's Account and Sender are the Matrix user ID, which the homeserver
// vouches for; its Room is the room ID. Announcements and answers are
// m.room.message events of msgtype m.notice (the type the specification
// gives bots, which other bots must not answer), with an HTML
// formatted_body when results are coloured; everything in the HTML is
// escaped. A retried Report (the same Event.ID) sends only the messages
// the homeserver did not take (package chat remembers them), each under a
// transaction ID derived from the event or command it belongs to, so one
// taken without the bot hearing it is not posted twice.
//
// Report sends the announcements of an event before it returns: a rate
// limit (429 M_LIMIT_EXCEEDED, waiting retry_after_ms or Retry-After) and
// server errors are status.Retryable, refusals (401, 403, 400, 404) are
// permanent. What the homeserver answers is scrubbed with status.ReplyText;
// the access token never appears in errors, logs or the bot printed.
//
// The package speaks net/http rather than maunium.net/go/mautrix: every
// mautrix version the module proxy serves (v0.32.0, v0.33.0) declares
// go 1.26, and Herald builds with Go 1.25; a bot needs two endpoints.
//
// The bot does not join rooms: invite its account to Options.Rooms (and
// accept) before starting it. It does not decrypt: commands in encrypted
// rooms are not seen.
package matrix
