package gitea_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/heraldci/herald/gitea"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A Forgejo instance (here a stand-in that prints what it gets) gets
// pending when a build starts and the result when it finishes; owner and
// name come from the build's repository URL.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var st struct{ State, Context, Description string }
		_ = json.NewDecoder(r.Body).Decode(&st)
		fmt.Printf("%s %s %s\n  %s %q %q\n", r.Method, r.URL.Path, r.Header.Get("Authorization")[:5], st.State, st.Context, st.Description)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{}`))
	}))
	defer api.Close()

	r, err := gitea.New(gitea.Options{BaseURL: api.URL, Token: status.Secret("0123456789abcdef")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close(context.Background())

	b := statustest.NewBuild("linux").Number(7).Repository("https://codeberg.org/octo/hello.git").Result(status.Warnings)
	for _, e := range b.Events() {
		if err := r.Report(context.Background(), e); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// POST /api/v1/repos/octo/hello/statuses/0123456789abcdef0123456789abcdef01234567 token
	//   pending "herald/linux" "Build #7 started."
	// POST /api/v1/repos/octo/hello/statuses/0123456789abcdef0123456789abcdef01234567 token
	//   warning "herald/linux" "Build #7 succeeded with warnings: build warnings"
}
