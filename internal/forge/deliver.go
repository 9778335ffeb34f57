package forge

import (
	"context"
	"log/slog"
)

// A Status is one commit status a target is to set for an event.
type Status[B any] struct {
	Key  Key  // where: repository, commit, and the status's name
	Sent Sent // what, and the build it comes from
	Body B    // the forge's request
}

// Delivery is how the targets built on it (gitlab, gitea, bitbucket,
// stash) send the statuses of an event: once per Key, only those Memory
// lets through, recording what the forge took. Safe for concurrent use.
type Delivery struct {
	Forge  string // "gitlab": the prefix of log lines
	Log    *slog.Logger
	Memory Memory
}

// Deliver sends sts in order with send, skipping (and logging at debug)
// duplicates within sts, identical repeats and late statuses of older
// builds, and (logging a warning) statuses past the forge's cap. It returns
// the errors of send; join them with Join.
func Deliver[B any](ctx context.Context, d *Delivery, builder string, sts []Status[B],
	send func(ctx context.Context, st *Status[B]) error) []error {
	var errs []error
	seen := make(map[Key]bool, len(sts))
	for i := range sts {
		st := &sts[i]
		if seen[st.Key.norm()] {
			continue // two codebases of one repository at one commit
		}
		seen[st.Key.norm()] = true
		attrs := []any{"repo", st.Key.Repo, "sha", st.Key.SHA, "name", st.Key.Name, "state", st.Sent.State,
			"builder", builder, "build", st.Sent.Build}
		switch v, last := d.Memory.Check(st.Key, st.Sent); v {
		case Repeat:
			d.Log.Debug(d.Forge+": status unchanged, not sent again", attrs...)
			continue
		case Stale:
			d.Log.Debug(d.Forge+": status skipped: a newer build was reported on this commit",
				append(attrs, "reported_build", last.Build, "reported_finished", last.Finished)...)
			continue
		case Capped:
			d.Log.Warn(d.Forge+": commit has the most statuses the forge keeps under this name, not sent",
				append(attrs, "limit", d.Memory.Cap)...)
			continue
		}
		if err := send(ctx, st); err != nil {
			errs = append(errs, err)
			continue
		}
		d.Memory.Record(st.Key, st.Sent)
	}
	return errs
}
