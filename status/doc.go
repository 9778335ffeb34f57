// Package status is Herald's core: the model of builds, steps, changes and
// workers; the Reporter interface every status target implements; the Hub
// that delivers events; the History and Control interfaces a host
// implements (or takes from package store) for queries and actions; and the
// small helpers shared by every target: Filter and matchers (Buildbot's
// builders= and tags=), Retryable and ClassifyResponse for error classification,
// Secret for credentials, and Interpolate for Buildbot-style templates.
//
// A host program gives the Hub its history and publishes events as its
// builds progress (BuildRun writes the events of a build's life for it):
//
//	hub := status.NewHub(status.HubOptions{History: mem}) // store.Memory: applied first, inside Publish
//	hub.Add(status.Filter(mailer, status.Tags("release")))
//	run := status.StartBuild(hub, &status.Build{Builder: "linux", Number: 7})
//	...
//	run.Finish(status.Success)
//	defer hub.Shutdown(ctx)
//
// Delivery: Publish applies the event to the History (a Ledger), then queues
// it for each reporter that handles its kind (Selective), each on its own
// bounded queue and goroutine, in publish order. Under overflow log chunks
// are shed first and marked (Event.Skipped); lifecycle events are never
// shed. Retries, attempt timeouts and panics are handled by the Hub; a
// reporter can have a durable Outbox (WithOutbox) and take batches
// (BatchReporter). See Hub.Publish for the whole policy.
//
// Logging: the Hub logs through HubOptions.Logger, and so do the reporters
// added to it that implement Logging and were given no logger of their own
// (every target of this module), each line with a "reporter" attribute.
//
// Links: Links is the URL scheme of the web status. With HubOptions.WebURL
// the Hub gives each build it publishes without a URL its page's there, so
// every target links to the pages.
//
// The package imports only the standard library.
package status
