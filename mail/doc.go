// Package mail is Herald's mail target: Buildbot 0.8.12's MailNotifier, in
// Go, over real SMTP.
//
// A Notifier is a status.Reporter. On every finished build (or, with
// Options.BuildSetSummary, every finished build set) it decides from its
// Mode and the previous build whether the build deserves a mail, renders one
// with Options.MessageFormatter (default: DefaultFormat, plain text plus
// HTML), finds the recipients (the blamelist and the "owners" property,
// mapped to addresses with Options.Domain or Options.Lookup, plus
// Options.ExtraRecipients), and sends it through a Sender (default: one SMTP
// session per mail, with STARTTLS, implicit TLS and AUTH as configured).
//
// Interested users are mailed only at addresses in Options.Domain or
// Options.RecipientDomains (by default the domain of From): a change's
// author line is written by whoever made the commit or sent the webhook,
// and must not choose where Herald sends mail. Options.AnyRecipientDomain
// lifts this for hosts whose changes all come from trusted sources.
//
// Customisation follows the rule of every Herald target: a string about a
// build is a status.Renderer (a template, or status.RenderFunc), and anything
// richer is a func type (FormatFunc, LookupFunc) taking the subject, with
// a context when it may block. Interpolate also accepts Buildbot 0.8.12's
// plain %(builder)s subject keys, so a MailNotifier subject carries over as
// written. Builders and tags are selected as for every target, by wrapping
// the Notifier: status.Filter(n, status.Builders("linux")). A build set
// summary is one event about several builders, so such a filter sees no
// builder name: the summary covers every build of the set that Mode
// selects.
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
