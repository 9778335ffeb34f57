package hooks_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/hooks"
	"github.com/heraldci/herald/status"
)

// A host enables the dialects it wants and records what arrives.
func Example() {
	h, err := hooks.New(hooks.Options{
		Dialects: []hooks.Dialect{
			hooks.Base{},
			&hooks.GitHub{Secret: "from-the-webhook-settings", Strict: true},
		},
		OnChanges: func(ctx context.Context, dialect string, changes []status.Change) error {
			for _, c := range changes {
				fmt.Printf("%s: %s on %s by %s\n", dialect, c.Revision, c.Branch, c.Author)
			}
			return nil // an error answers 500: the forge delivers again later
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/change_hook/", h)

	// What contrib/post_build_request.py (or curl -d) sends to the base dialect.
	form := url.Values{"author": {"Jane <jane@example.org>"}, "revision": {"1a2b3c"}, "branch": {"main"}}
	r := httptest.NewRequest("POST", "/change_hook/base", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body)

	// An unsigned GitHub payload is refused by a Strict dialect.
	r = httptest.NewRequest("POST", "/change_hook/github", strings.NewReader(`{"ref":"refs/heads/main"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-GitHub-Event", "push")
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body)
	// Output:
	// base: 1a2b3c on main by Jane <jane@example.org>
	// 200 1 change(s) accepted
	// 403 unsigned request: configure the webhook secret on GitHub
}

// Buildbot's change_hook_auth file (user:password lines) works as is.
func ExampleOptions_auth() {
	users, err := auth.ParseCleartext(strings.NewReader(`
# user:password, as Buildbot 0.8.12 read it
buildbot:s3cret
`))
	if err != nil {
		log.Fatal(err)
	}
	h, err := hooks.New(hooks.Options{Dialects: []hooks.Dialect{hooks.Base{}}, Auth: users,
		OnChanges: func(context.Context, string, []status.Change) error { return nil }})
	if err != nil {
		log.Fatal(err)
	}
	for _, pw := range []string{"s3cret", "wrong"} {
		r := httptest.NewRequest("POST", "/change_hook/base", strings.NewReader("revision=abc"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("buildbot", pw)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code)
	}
	// Output:
	// 200
	// 401
}
