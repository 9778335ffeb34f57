package web

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/internal/testkit"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// brokenHistory cannot list its builders.
type brokenHistory struct{ *statustest.History }

func (brokenHistory) Builders(context.Context) ([]status.Builder, error) {
	return nil, errors.New("the history file is unreadable")
}

// Given no logger, the Server logs through the Hub's, named.
func TestLogsThroughTheHub(t *testing.T) {
	s, err := New(Options{History: brokenHistory{fixture()}})
	require.NoError(t, err)
	_, logs := testkit.LoggingHub(t, s)

	code, _ := get(t, s, "/builders")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, logs.Lines(), testkit.LogLine{Level: "ERROR", Reporter: "web", Msg: "web: page"})
}
