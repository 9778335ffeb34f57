// Package push sends every status event to a receiver outside the CI master,
// in order, across receiver outages and master restarts: Buildbot 0.8.12's
// StatusPush and HttpStatusPush.
//
// A Pusher is a status.Reporter. Report turns each event into a Packet
// ({id, timestamp, project, started, event, payload}, the 0.8.12 layout) and
// queues it; a single goroutine hands the queue, in batches, to a Sink (New)
// or POSTs it to a URL (HTTP). The queue holds Options.MaxMemoryItems packets
// in memory and, when Options.Dir is set, spills the rest to a bbolt file in
// Dir that survives restarts. Nothing is dropped silently: overflow drops the
// oldest packets, and a receiver's permanent refusal drops that batch, both
// counted in Stats and logged.
//
// Delivery is at least once: a packet is removed from the queue only after
// the receiver acknowledged its batch. After a clean Close nothing is lost
// or repeated. After a crash, the packets that were in memory are lost (as
// in Buildbot): the queued ones, those of the batch being sent that came
// from memory, and the last group of up to 256 spilled packets not yet
// committed; packets read from disk but not acknowledged are sent again, so
// receivers should ignore ids they have already seen.
package push
