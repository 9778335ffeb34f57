package status

import "log/slog"

// Logging is implemented by reporters that log, so that a host which sets
// up logging once, as HubOptions.Logger, finds every reporter's lines there
// too, each with a "reporter" attribute naming the reporter.
//
// Hub.Add calls InheritLogger before the reporter's first Report, with the
// Hub's logger carrying reporter=<name> (WithName, else the Named method,
// else the type). A reporter whose options named a logger keeps that one and
// ignores the call; any other logs through l from then on. What a reporter
// logs before it is added (a connection its constructor starts, say) goes
// where its documentation says: slog.Default() for the targets of this
// module.
//
// A reporter added to several Hubs is told at each Add, possibly while it
// reports or logs from goroutines of its own: InheritLogger must be safe for
// concurrent use with the reporter's other methods. Filter and Multi
// forward the call to the reporters they wrap. The Hub gives its logger the
// same way to an Outbox (WithOutbox; with the reporter attribute) and to its
// History (HubOptions.History) when they implement Logging.
type Logging interface {
	InheritLogger(l *slog.Logger)
}
