// Package status is Herald's core: the model of builds, steps, changes and
// workers; the Reporter interface every status target implements; the Hub
// that fans events out to reporters with per-reporter queues, retries and
// counted overflow; the History and Control interfaces a host implements (or
// takes from package store) for queries and actions; and the small helpers
// shared by every target: Filter and matchers (Buildbot's builders= and
// tags=), Retryable and HTTPError for error classification, Secret for
// credentials, and Interpolate for Buildbot-style templates.
//
// A host program publishes events as its builds progress:
//
//	hub := status.NewHub(status.HubOptions{Logger: logger})
//	hub.Add(mem)                                   // store.Memory: history for web, mail, IRC
//	hub.Add(status.Filter(mailer, status.Tags("release")))
//	hub.Publish(status.Event{Kind: status.BuildStarted, Build: b})
//	...
//	defer hub.Shutdown(ctx)
//
// The package imports only the standard library.
package status
