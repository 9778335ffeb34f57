// Package mail is Herald's mail target: Buildbot 0.8.12's MailNotifier, in
// Go, over real SMTP.
//
// A Notifier is a status.Reporter. On every finished build (or, with
// Options.BuildSetSummary, every finished build set) it decides from its
// Mode and the previous build whether the build deserves a mail, renders one
// with a MessageFormatter (default: DefaultFormat, plain text plus HTML),
// finds the recipients (the blamelist and the "owners" property through an
// EmailLookup such as Domain, plus Options.ExtraRecipients), and sends it
// through a Sender (default: one SMTP session per mail, with STARTTLS,
// implicit TLS and AUTH as configured).
//
// Mails about one builder and branch form a thread: each carries
// In-Reply-To and References naming the previous one and a common root.
// Message IDs derive from the build, so a mail retried by the Hub keeps its
// ID. Every user-derived header value is stripped of line breaks, so no
// author name, subject or property can add a header.
//
// The Notifier never retries: SMTP 4xx replies, timeouts and connection
// failures come back as status.Retryable for the Hub to retry, 5xx replies
// as permanent errors. Render is a dry run that returns the exact bytes a
// mail would have.
package mail
