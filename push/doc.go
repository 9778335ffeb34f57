// Package push sends status events to a receiver outside the CI master, in
// batches, in order, across receiver outages and master restarts: Buildbot
// 0.8.12's StatusPush and HttpStatusPush.
//
// A Pusher is a status.BatchReporter: the Hub hands it up to
// Options.ChunkSize queued events at a time, and ReportBatch turns them into
// Packets ({id, timestamp, project, started, event, payload}, the 0.8.12
// layout) and POSTs them to Options.URL (HttpStatusPush) or hands them to
// Options.Sink (StatusPush), in as many requests as MaxRequestBytes and the
// receiver's 413s ask for. New builds either from one Options.
//
// The Pusher keeps no queue, batcher or retry loop of its own; the Hub's
// are the only ones (DESIGN.md, "Hub"):
//
//   - Buildbot's bufferDelay: the Hub sends whatever has gathered while
//     the previous request was in flight, so events published in a burst
//     go together and a lone event leaves at once.
//   - retryDelay: a status.Retryable error (429, 5xx, a refused connection)
//     makes the Hub offer the same events again after its backoff
//     (status.WithRetry; Retry-After is honoured).
//   - The queue on disk (Buildbot's path, maxDiskItems): add the Pusher
//     with status.WithOutbox and an outbox.File, and what is queued
//     survives a crash: it is delivered after the restart, at least once,
//     in order. A packet's id is its Event.ID, the same after a restart,
//     so a receiver drops the packets it has seen.
//   - Which events: Options.Kinds, which the Hub reads through Handles
//     (Buildbot's white and black lists of event names); which builders
//     and tags: status.WithMatch, as for every target.
//
// Nothing is dropped silently: a receiver's permanent refusal (a 4xx other
// than 408, 425 and 429; a packet alone too large) drops those packets,
// logs them with their ids, counts them in Stats.Rejected and returns an
// error the Hub counts; the rest of the batch is still sent.
package push
