package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamOptions describes the JetStream stream events go to.
type StreamOptions struct {
	Name     string        // default "HERALD"
	Prefix   string        // subject prefix, default "herald"
	MaxAge   time.Duration // how long events are kept (default 7 days)
	MaxBytes int64         // size cap, oldest dropped first (default: none)
	Replicas int           // default 1
	// Duplicates is the window in which a re-published event (same master
	// and sequence) is dropped by the server (default 10 minutes: longer
	// than a Hub keeps retrying a publish in the usual outage).
	Duplicates time.Duration
	Memory     bool // memory storage instead of files
	// Partitions splits the bus into that many streams (default 1: one
	// stream, Name capturing Prefix.>). With n > 1 the streams are
	// Name-0 … Name-(n-1) capturing Prefix.0.> … and each builder's events
	// go to one of them (by a hash of its name): a JetStream stream takes
	// its messages on one goroutine of the server, so n streams take them
	// n at a time (see BENCHMARKS.md). Order then holds per builder, not
	// across builders. Publishers and subscribers must be given the same
	// number.
	Partitions int
	// AsyncPersist lets the server acknowledge an event before writing it
	// to its file (jetstream.AsyncPersistMode): a single server saves a
	// write per event, and a server killed without a clean shutdown
	// loses the events of its last moments. Off by default; the server
	// does not change it on an existing stream.
	AsyncPersist bool
}

func (o StreamOptions) withDefaults() StreamOptions {
	if o.Name == "" {
		o.Name = "HERALD"
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Duplicates <= 0 {
		o.Duplicates = 10 * time.Minute
	}
	return o
}

// EnsureStream creates the stream (or, with Partitions, every stream of
// the bus), or updates it to o, and returns it (them, in partition order).
func EnsureStream(ctx context.Context, js jetstream.JetStream, o StreamOptions) ([]jetstream.Stream, error) {
	if js == nil {
		return nil, errors.New("bus: EnsureStream: nil JetStream: make one with jetstream.New(nc)")
	}
	if err := checkPartitions("StreamOptions.Partitions", o.Partitions); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	var streams []jetstream.Stream
	for _, p := range partitions(o.Name, o.Prefix, o.Partitions) {
		cfg := jetstream.StreamConfig{
			Name:       p.stream,
			Subjects:   []string{p.prefix + ".>"},
			MaxAge:     o.MaxAge,
			MaxBytes:   o.MaxBytes,
			Replicas:   o.Replicas,
			Duplicates: o.Duplicates,
			Storage:    jetstream.FileStorage,
			Discard:    jetstream.DiscardOld,
		}
		if o.MaxBytes == 0 {
			cfg.MaxBytes = -1
		}
		if o.AsyncPersist {
			cfg.PersistMode = jetstream.AsyncPersistMode
		}
		if o.Memory {
			cfg.Storage = jetstream.MemoryStorage
		}
		s, err := js.CreateOrUpdateStream(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("bus: create stream %s: %w", p.stream, err)
		}
		streams = append(streams, s)
	}
	return streams, nil
}
