package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemoSlackLocal(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-builds", "3", "-speed", "50", "-seed", "7", "-addr", "127.0.0.1:0",
		"-slack-api", "local", "-slack-notify", "started,finished"}, &out, &errs)
	require.NoError(t, err, errs.String())
	assert.Contains(t, out.String(), "slack: announcements to a local chat.postMessage double")
	assert.Regexp(t, regexp.MustCompile(`slack: 6 delivered, 0 failed`), out.String())
	assert.NotContains(t, errs.String(), "level=ERROR")
	assert.NotContains(t, errs.String(), "xoxb-demo-token")

	err = run(context.Background(), []string{"-builds", "1", "-slack-api", "https://slack.com/api/"}, &out, &errs)
	assert.ErrorContains(t, err, "-slack-api needs -slack-token-file")
}
