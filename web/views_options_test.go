package web

import (
	"slices"
	"strings"
	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestDisplayOptions(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		err  string
		want func(o Options) bool
	}{
		{o: Options{}, want: func(o Options) bool {
			return o.NumEvents == 200 && o.NumEventsMax == 2000 && slices.Equal(o.FeedResults, []status.Result{status.Failure, status.Exception})
		}},
		{o: Options{NumEvents: 5000}, want: func(o Options) bool { return o.NumEvents == 5000 && o.NumEventsMax == 5000 }},
		{o: Options{NumEventsMax: 50}, want: func(o Options) bool { return o.NumEvents == 50 && o.NumEventsMax == 50 }},
		{o: Options{NumEvents: -1}, err: "web: Options.NumEvents is -1: use a positive number, or 0 for 200"},
		{o: Options{NumEventsMax: -1}, err: "web: Options.NumEventsMax is -1"},
		{o: Options{NumEvents: 300, NumEventsMax: 100}, err: "raise NumEventsMax or lower NumEvents"},
		{o: Options{FeedResults: []status.Result{status.Result(42)}}, err: "Options.FeedResults holds an invalid result 42"},
	} {
		tc.o.History = statustest.NewHistory()
		tc.o.Logger = discardLogger()
		s, err := New(tc.o)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("New(%+v) = %v, want an error with %q", tc.o, err, tc.err)
			}
		case err != nil:
			t.Errorf("New(%+v): %v", tc.o, err)
		default:
			if !tc.want(s.opts) {
				t.Errorf("New(%+v): options %+v", tc.o, s.opts)
			}
			s.Close(t.Context())
		}
	}
	// The caller's FeedResults slice is copied.
	rs := []status.Result{status.Failure}
	s := newServer(t, statustest.NewHistory(), Options{FeedResults: rs})
	rs[0] = status.Success
	if s.opts.FeedResults[0] != status.Failure {
		t.Error("Options.FeedResults aliases the caller's slice")
	}
}
