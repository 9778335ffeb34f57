package web

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/heraldci/herald/status"
)

// The views of Buildbot's "Display-Specific Options": waterfall, grids,
// console, feeds, build status, status images and the live event stream.
// Each lives in its own file; this one lists them for the Server's routes
// and holds the options they share.

const (
	defaultNumEvents    = 200
	defaultNumEventsMax = 2000
)

// defaultFeedResults are the results the feeds report: Buildbot's feeds
// list failed builds; an exception is a failure the users want to hear of.
var defaultFeedResults = []status.Result{status.Failure, status.Exception}

// validateDisplay checks and defaults the display options:
//
//   - NumEvents is how many time rows the waterfall shows by default (200);
//     ?num_events= overrides it up to NumEventsMax (default 2000).
//   - OrderConsoleByTime sorts the console's changes by commit time; without
//     it numeric revisions sort numerically and others by time.
//   - FeedResults are the build results /rss and /atom list (default
//     failure and exception).
func (o *Options) validateDisplay() error {
	if o.NumEvents < 0 {
		return fmt.Errorf("web: Options.NumEvents is %d: use a positive number, or 0 for %d", o.NumEvents, defaultNumEvents)
	}
	if o.NumEventsMax < 0 {
		return fmt.Errorf("web: Options.NumEventsMax is %d: use a positive number, or 0 for %d", o.NumEventsMax, defaultNumEventsMax)
	}
	if o.NumEventsMax == 0 {
		o.NumEventsMax = max(defaultNumEventsMax, o.NumEvents)
	}
	if o.NumEvents == 0 {
		o.NumEvents = min(defaultNumEvents, o.NumEventsMax)
	}
	if o.NumEvents > o.NumEventsMax {
		return fmt.Errorf("web: Options.NumEvents (%d) is above Options.NumEventsMax (%d): raise NumEventsMax or lower NumEvents", o.NumEvents, o.NumEventsMax)
	}
	for _, r := range o.FeedResults {
		if !r.Valid() {
			return fmt.Errorf("web: Options.FeedResults holds an invalid result %d: use status.Failure, status.Exception...", int(r))
		}
	}
	if len(o.FeedResults) == 0 {
		o.FeedResults = defaultFeedResults
	}
	o.FeedResults = slices.Clone(o.FeedResults)
	return nil
}

// viewPages are the HTML pages of the views, for the Server's page table.
func (s *Server) viewPages() []page {
	return []page{
		{pattern: "/waterfall", serve: s.waterfallPage, nav: "Waterfall"},
		{pattern: "/grid", serve: s.gridPage, nav: "Grid"},
		{pattern: "/tgrid", serve: s.tgridPage},
		{pattern: "/console", serve: s.consolePage, nav: "Console"},
		{pattern: "/buildstatus", serve: s.buildStatusPage},
	}
}

// rawHandler is a GET endpoint that writes its own response (not a page in
// the layout).
type rawHandler struct {
	pattern string
	serve   http.HandlerFunc
}

// viewHandlers are the feeds, status images and the event stream.
func (s *Server) viewHandlers() []rawHandler {
	return []rawHandler{
		{"/rss", s.serveRSS},
		{"/atom", s.serveAtom},
		{"/png", s.servePNG},
		{"/badge.svg", s.serveBadge},
		{"/events", s.long(s.views.live.ServeHTTP)},
	}
}

// builderFilter selects builders by builder= and tag=, the arguments most
// views share.
type builderFilter struct {
	names, tags []string
}

func (f builderFilter) match(b *status.Builder) bool {
	return (len(f.names) == 0 || slices.Contains(f.names, b.Name)) &&
		(len(f.tags) == 0 || b.HasTag(f.tags...))
}

// selected returns the builders f selects, in History's order.
func (f builderFilter) selected(all []status.Builder) []status.Builder {
	var out []status.Builder
	for i := range all {
		if f.match(&all[i]) {
			out = append(out, all[i])
		}
	}
	return out
}

// names returns the names of builders, or nil when every builder of all is
// there (so History need not filter).
func builderNames(sel, all []status.Builder) []string {
	if len(sel) == len(all) {
		return nil
	}
	names := make([]string, len(sel))
	for i, b := range sel {
		names[i] = b.Name
	}
	return names
}

// viewState is what the views keep in the Server: the live feed (which is
// also where show_events finds recent worker and master events, unless the
// History keeps them) and the fonts of the status images.
type viewState struct {
	live  *liveFeed
	fonts *fonts
}

func newViewState(o *Options) *viewState {
	lo := liveOptions{Logger: o.Logger}
	if _, ok := o.History.(ActivityHistory); ok {
		lo.Activity = -1 // the waterfall reads them from History
	}
	return &viewState{live: newLiveFeed(lo), fonts: newFonts()}
}
