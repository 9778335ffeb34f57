package statustest_test

import (
	"testing"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

func TestHistoryConformance(t *testing.T) {
	statustest.HistoryConformance(t, statustest.HistorySuite{
		Open: func(*testing.T) status.Ledger { return &statustest.History{} },
	})
}
