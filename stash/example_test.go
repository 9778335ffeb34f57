package stash_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/heraldci/herald/stash"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A Bitbucket Server under a context path (here a stand-in that prints
// what it gets) receives INPROGRESS when a build starts and the result
// when it finishes, under one key per builder.
func Example() {
	bitbucket := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var st struct{ State, Key, Name, URL string }
		_ = json.NewDecoder(r.Body).Decode(&st)
		fmt.Printf("%s %s\n  %s %q %q %s\n", r.Method, r.URL.Path, st.State, st.Key, st.Name, st.URL)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer bitbucket.Close()

	r, err := stash.New(stash.Options{
		BaseURL: bitbucket.URL + "/bitbucket/",
		Token:   status.Secret("BBDC-example"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close(context.Background())

	b := statustest.NewBuild("linux").Number(7).URL("https://ci.example.org/builders/linux/builds/7").Succeeded()
	for _, e := range b.Events() {
		if err := r.Report(context.Background(), e); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// POST /bitbucket/rest/build-status/1.0/commits/0123456789abcdef0123456789abcdef01234567
	//   INPROGRESS "linux" "linux #7" https://ci.example.org/builders/linux/builds/7
	// POST /bitbucket/rest/build-status/1.0/commits/0123456789abcdef0123456789abcdef01234567
	//   SUCCESSFUL "linux" "linux #7" https://ci.example.org/builders/linux/builds/7
}
