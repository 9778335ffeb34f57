package bitbucket_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/heraldci/herald/bitbucket"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// Bitbucket Cloud (here a stand-in that prints what it gets) receives
// INPROGRESS when a build starts and the result when it finishes, under
// one key per builder; the workspace and repository come from the build's
// repository URL.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var st struct{ State, Key, Name, URL string }
		_ = json.NewDecoder(r.Body).Decode(&st)
		fmt.Printf("%s %s\n  %s %q %q %s\n", r.Method, r.URL.Path, st.State, st.Key, st.Name, st.URL)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{}`))
	}))
	defer api.Close()

	r, err := bitbucket.New(bitbucket.Options{BaseURL: api.URL, Username: "ci-bot", Password: status.Secret("app-password")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close(context.Background())

	b := statustest.NewBuild("linux").Number(7).Repository("git@bitbucket.org:team/app.git").
		URL("https://ci.example.org/builders/linux/builds/7").Result(status.Cancelled)
	for _, e := range b.Events() {
		if err := r.Report(context.Background(), e); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// POST /2.0/repositories/team/app/commit/0123456789abcdef0123456789abcdef01234567/statuses/build
	//   INPROGRESS "linux" "linux #7" https://ci.example.org/builders/linux/builds/7
	// POST /2.0/repositories/team/app/commit/0123456789abcdef0123456789abcdef01234567/statuses/build
	//   STOPPED "linux" "linux #7" https://ci.example.org/builders/linux/builds/7
}
