package testkit

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMissingSkipsWithoutRequire(t *testing.T) {
	t.Setenv("HERALD_REQUIRE_SERVERS", "")
	ran := false
	t.Run("inner", func(t *testing.T) {
		defer func() { ran = true }()
		Missing(t, "nothing here")
	})
	require.True(t, ran)
}
