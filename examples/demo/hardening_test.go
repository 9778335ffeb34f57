package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/status"
)

// Issue 19 item 12: the banner does not print the web password, and says
// which hooks are open.
func TestDemoBannerKeepsThePassword(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-builds", "1", "-speed", "50", "-seed", "7", "-addr", "127.0.0.1:0",
		"-web-password", "s3cret-Pw9"}, &out, &errs)
	require.NoError(t, err, errs.String())
	assert.NotContains(t, out.String()+errs.String(), "s3cret-Pw9")
	assert.Contains(t, out.String(), "accepted unsigned")
	assert.Contains(t, out.String(), "open to anyone")
}

// Change data from webhooks reaches the console: its control characters
// (terminal escape sequences) are dropped, the console's own colours kept.
func TestConsoleDropsControlCharacters(t *testing.T) {
	var out bytes.Buffer
	c := &console{w: &out, color: true}
	b := &status.Build{Builder: "linux", Number: 1, Result: status.Failure, Started: time.Unix(0, 0), Finished: time.Unix(1, 0),
		Sources: []status.SourceStamp{{Revision: "abc1234", Changes: []status.Change{{
			Author: "Eve \x1b]0;pwned\x07<eve@example.org>", Comments: "fix\x1b[2J\x1b[31m\rall\x08"}}}}}
	require.NoError(t, c.Report(context.Background(), status.Event{Kind: status.BuildFinished, Time: time.Unix(1, 0), Build: b}))
	line := out.String()
	assert.Contains(t, line, "\x1b[31mfailure  \x1b[0m", "the console's own colour stays")
	assert.NotContains(t, line, "\x1b]0;")
	assert.NotContains(t, line, "\x1b[2J")
	assert.NotContains(t, line, "\r")
	assert.NotContains(t, line, "\x08")
	assert.NotContains(t, line, "\x07")
}
