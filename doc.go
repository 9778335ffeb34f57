// Package herald is an embeddable library of CI status reporters, the Go
// successor of Buildbot's status targets. A host CI program publishes its
// build and step events to a status.Hub; Herald tells the world.
//
// The packages:
//
//	status            the core: model, Reporter, Hub, History and Control, Secret, Interpolate
//	status/statustest the test kit: fake builds and events, Recorder, Conformance
//	store             store.Memory: history built from events, for web, mail and IRC
//	hooks             /change_hook dialects: webhooks in, []status.Change out
//	mail              MailNotifier: mails about builds over SMTP
//	irc               the IRC bot: announcements and commands
//	github            commit statuses on GitHub and GitHub Enterprise
//	stash             build statuses on Bitbucket Server (Stash)
//	gerrit            reviews and votes on Gerrit over SSH or REST
//	push              StatusPush and HttpStatusPush: events to a receiver, durably queued
//	stream            a live, authenticated event stream (PBListener) and its client
//	web               WebStatus: pages, JSON, waterfall, grid, console, feeds, badges, actions, live updates
//	bus               events across machines on NATS JetStream
//
// examples/demo runs a simulated CI master with everything wired in;
// examples/cluster runs two masters and a front end on NATS JetStream;
// examples/watch is a terminal client of the live stream.
package herald
