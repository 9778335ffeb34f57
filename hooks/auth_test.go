package hooks

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
)

// Basic credentials on the hooks are throttled per address, counting each
// guess before its slow hash: 50 parallel guesses against a bcrypt entry
// get at most 10 checks, and then even the right password gets 429.
func TestHookGuessesThrottled(t *testing.T) {
	users, err := auth.ParseHtpasswd(strings.NewReader(
		// htpasswd -nbB -C 4 forge w1re
		"forge:$2y$04$NGZ6HC3Z7TA.hegmvGE1zOziB/GXHTsg8CmEdOXi3aivhwwLAGFi6\n"))
	require.NoError(t, err)
	var checked sync.Map
	counting := auth.Func(func(ctx context.Context, u, p string) error {
		checked.Store(p, true)
		return users.Authenticate(ctx, u, p)
	})
	h, err := New(Options{Dialects: []Dialect{Base{}}, Auth: counting,
		OnChanges: func(context.Context, string, []status.Change) error { return nil }})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(pw string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/change_hook/base", strings.NewReader("revision=abc"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("forge", pw)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	var wg sync.WaitGroup
	codes := make(chan int, 50)
	for i := range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); codes <- post(fmt.Sprint("guess", i)) }()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	assert.Equal(t, 10, count[http.StatusUnauthorized], "%v", count)
	assert.Equal(t, 40, count[http.StatusTooManyRequests], "%v", count)
	n := 0
	checked.Range(func(any, any) bool { n++; return true })
	assert.Equal(t, 10, n, "passwords checked")
	assert.Equal(t, http.StatusTooManyRequests, post("w1re"))
}
