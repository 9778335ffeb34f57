// Package herald is an embeddable library of CI status reporters, the Go
// successor of Buildbot's status targets. A host CI program publishes its
// build and step events to a status.Hub; Herald tells the world.
//
// The packages:
//
//	status            the core: model, Reporter, Hub (history first, declared kinds, outbox, batches), History/Ledger/Control, BuildRun, Secret, Interpolate, Links
//	status/statustest the test kit: fake builds and events, Recorder, Conformance, HTTPConformance, HistoryConformance
//	store             store.Memory: the history a Hub keeps, in memory or in a bbolt file
//	outbox            a durable queue in front of any reporter (status.WithOutbox)
//	auth              one Authenticator for web, hooks and stream: htpasswd formats, Buildbot's users, throttling
//	hooks             /change_hook dialects: webhooks in, []status.Change out
//	mail              MailNotifier: mails about builds over SMTP
//	irc               the IRC bot: announcements and commands
//	chat              the transport-neutral command engine chat bots run on
//	github            commit statuses, check runs and pull-request comments on GitHub
//	stash             build statuses and pull-request comments on Bitbucket Server (Stash)
//	gitlab            commit statuses and merge request notes on GitLab
//	gitea             commit statuses on Gitea and Forgejo
//	bitbucket         build statuses on Bitbucket Cloud
//	gerrit            reviews and votes on Gerrit over SSH or REST
//	push              StatusPush and HttpStatusPush: events to a receiver in batches
//	stream            a live, authenticated event stream (PBListener) and its client
//	metrics           a Prometheus collector of builds and of the Hub's counters
//	otel              builds as OpenTelemetry traces
//	web               WebStatus: pages, JSON, waterfall, grid, console, feeds, badges, actions, live updates
//	bus               events across machines on NATS JetStream
//
// examples/demo runs a simulated CI master with everything wired in;
// examples/cluster runs two masters and a front end on NATS JetStream;
// examples/watch is a terminal client of the live stream.
package herald
