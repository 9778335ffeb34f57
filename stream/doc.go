// Package stream is Herald's PBListener: a live, authenticated stream of
// status events for front ends that live outside the CI master (Buildbot's
// statusgui and other PB status clients).
//
// A Server is a status.Reporter (add it to the Hub) and an http.Handler
// (mount it in a mux or serve it on its own port). Clients authenticate with
// HTTP Basic auth, choose builders, tags and event kinds with query
// arguments (?builder=linux&tag=ci&kind=buildFinished), and receive
// Server-Sent Events (text/event-stream; the event id is the event's Seq)
// or NDJSON (?format=ndjson). Each event is in Herald's versioned wire form
// (a "v" field and JSON names of its own, the same as on package bus; see
// the golden file testdata/stream.golden), so a change in the core model
// does not change what clients read. A new client first gets a snapshot of the
// builders' current state; a client that reconnects with Last-Event-ID (or
// ?since=N) gets exactly the events it missed from a bounded replay buffer,
// or a fresh snapshot when they are no longer there. Each client has a
// bounded buffer: a client that cannot keep up is disconnected (and counted)
// instead of slowing the Hub, and may reconnect and resume.
//
// Dial is the Go client: it delivers snapshots and events on a channel and
// reconnects with Last-Event-ID on its own. examples/watch is a terminal
// status client built on it.
package stream
