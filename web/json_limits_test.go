package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func getJSON(t *testing.T, url string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(body, &v), "body %q", body)
	return resp, v
}

// More select= arguments than maxJSONSelects are refused with the reason;
// up to the cap they are answered.
func TestJSONSelectCap(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	addr := listenLoopback(t, s)
	selects := func(n int) string {
		return strings.Repeat("select=project&", n-1) + "select=slaves"
	}
	resp, v := getJSON(t, "http://"+addr+"/json?"+selects(maxJSONSelects))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, v, "project")
	assert.Contains(t, v, "slaves")

	resp, v = getJSON(t, "http://"+addr+"/json?"+selects(maxJSONSelects+1))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, v["error"], "at most 64")
}

// The query is parsed once per request, not once per select=: with a long
// query, the work of 64 selects grows by what the selects do, not by 64
// parses of the query.
func TestJSONQueryParsedOnce(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	padding := strings.Repeat("pad=x&", 2000)
	allocs := func(selects int) float64 {
		target := "/json?" + padding + strings.Repeat("select=project&", selects)
		return testing.AllocsPerRun(3, func() {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d", target[:40], rec.Code)
			}
		})
	}
	one, many := allocs(1), allocs(maxJSONSelects)
	// Parsing the padding costs thousands of allocations; a select of the
	// project costs a few dozen.
	perSelect := (many - one) / (maxJSONSelects - 1)
	t.Logf("allocations: one select %.0f, %d selects %.0f", one, maxJSONSelects, many)
	assert.Less(t, perSelect, 200.0, "allocations per extra select= (one select: %.0f, %d: %.0f)", one, maxJSONSelects, many)
}

// /json sends Access-Control-Allow-Origin only when the host asks for it.
func TestJSONAllowOrigin(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	resp, _ := getJSON(t, "http://"+listenLoopback(t, s)+"/json/project")
	assert.Empty(t, resp.Header.Values("Access-Control-Allow-Origin"))

	s, _ = newTestServer(t, Options{JSONAllowOrigin: "https://dash.example.org"})
	resp, _ = getJSON(t, "http://"+listenLoopback(t, s)+"/json/project")
	assert.Equal(t, []string{"https://dash.example.org"}, resp.Header.Values("Access-Control-Allow-Origin"))
}
