// Package bus runs Herald across machines on NATS JetStream. A Publisher is
// a status.BatchReporter that puts every event of a master into a JetStream
// stream; Subscribe feeds the stream, from a durable position, into a front
// end's Hub on another machine, so that mail, IRC, web and commit-status
// reporting can run on front ends separate from the masters, and one front
// end can show the builders of many masters.
//
// Delivery is at least once end to end: the Publisher waits for JetStream's
// acknowledgements and gives the Hub retryable errors while the server is
// away; JetStream drops duplicate publishes by message ID (the event's ID)
// within the stream's duplicate window; the subscriber publishes events to
// the front end's Hub in stream order, acknowledges them in batches after
// the front end's History is flushed, never past an event it did not get,
// and skips events it has lately published. An event reaches a front end
// twice only when its process dies between publishing it and the
// acknowledgement. Subscription.Sync waits until a front end has every
// event the stream holds (a readiness check after a restart).
//
// The subscriber keeps stream order, which is stronger than the order per
// builder that reporters need: the front end's Hub takes events one at a
// time anyway (its History applies each inside Publish), and decoding is a
// few microseconds of the path's cost (BENCHMARKS.md).
//
// Subjects are herald.<kind>.<builder>, with the builder name escaped so
// dots, wildcards and spaces cannot change the subject's shape; events
// about no builder use "_".
//
// Partitions: a JetStream stream takes its messages on one goroutine of
// the server, which caps one stream at tens of thousands of events a
// second on a small machine. StreamOptions.Partitions (with the same
// number in PublisherOptions and SubscribeOptions) splits the bus into
// streams HERALD-0 … capturing herald.0.> …; each builder's events go to
// one of them, chosen by a hash of its name, so order holds per builder
// (what reporters need) and the streams take events in parallel. Across
// partitions there is no order: events about no builder (changes,
// buildsets, workers, the master) share one partition, so a front end may
// see a buildset finish before the last build of it, or a build before the
// change it names. Every publisher and subscriber of a bus must be given
// the stream's number of partitions (a publisher given more publishes to
// subjects no stream takes, and retries without end); to change the
// number, drain the old streams and delete them first: their subjects
// overlap the new ones', and EnsureStream fails while they exist.
package bus
