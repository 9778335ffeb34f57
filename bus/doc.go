// Package bus runs Herald across machines on NATS JetStream. A Publisher is
// a status.Reporter that puts every event of a master into a JetStream
// stream; Subscribe feeds the stream, from a durable position, into any
// reporter on another machine, so that mail, IRC, web and commit-status
// reporting can run on front ends separate from the masters, and one front
// end can show the builders of many masters.
//
// Delivery is at least once end to end: the Publisher waits for JetStream's
// acknowledgement and gives the Hub retryable errors while the server is
// away; JetStream drops duplicate publishes by message ID (master, publisher
// boot and event sequence) within the stream's duplicate window; the subscriber acks an
// event only after its reporter accepted it, keeps the order of each
// builder's events, and skips events it has lately delivered. An event can
// be delivered twice only when a subscriber process dies between a
// reporter's success and the ack.
//
// Subjects are herald.<kind>.<builder>, with the builder name escaped so
// dots, wildcards and spaces cannot change the subject's shape; events
// about no builder use "_".
package bus
