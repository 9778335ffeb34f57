// Package otel reports builds as OpenTelemetry traces: one trace per build,
// its root span from BuildStarted to BuildFinished and a child span per step
// from StepStarted to StepFinished, timed by the events. Spans follow the
// OpenTelemetry semantic conventions for CI/CD (still in development there):
//
//	span "BUILD <builder>" (kind server)
//	  cicd.pipeline.name          builder
//	  cicd.pipeline.run.id        build number
//	  cicd.pipeline.action.name   "BUILD"
//	  cicd.pipeline.run.url.full  the build's URL
//	  cicd.worker.name            worker
//	  vcs.ref.head.revision       revision of the first source stamp that has one
//	  vcs.ref.head.name           its branch
//	  vcs.repository.url.full     its repository
//	  herald.master               the master that published the build
//	  cicd.pipeline.result        success, failure, error, cancellation or skip
//	  herald.result               the Buildbot result: success, warnings, failure, ...
//	  error.type                  the Buildbot result, when the build failed
//	span "<step>" (kind internal), a child of the build's
//	  cicd.pipeline.task.name     step name
//	  herald.step.number          step number
//	  cicd.pipeline.task.run.result, herald.result, error.type as for builds
//
// Builds that failed (failure, exception, retry) end with status Error and
// the build's summary as description. Builds and steps still open when the
// Tracer closes, or when their master starts again, end with status Error
// "interrupted".
//
// Spans go to the host's TracerProvider (Options.TracerProvider), or, with
// Options.Endpoint, to an OTLP/HTTP collector through the SDK's batch span
// processor and OTLP exporter, which own the export: batching, gzip, and
// retries as OTLP prescribes (429 and 5xx, Retry-After honoured). Report
// only starts and ends spans in memory; it never waits for the network,
// only, while the export queue (2,048 spans) is full, for room in it, so
// the SDK never drops a span: a slow collector backs up into the Hub's
// queue, where overflow is counted and logged. Export failures are logged
// (with Options.Headers values redacted), not returned: a span, once
// ended, cannot be reported again.
package otel
