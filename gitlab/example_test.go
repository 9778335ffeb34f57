package gitlab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/heraldci/herald/gitlab"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A self-managed GitLab (here a stand-in that prints what it gets) gets
// running when a build starts and the result when it finishes. The
// project comes from the build's repository URL.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var st struct{ State, Name, Ref, Description string }
		_ = json.NewDecoder(r.Body).Decode(&st)
		fmt.Printf("%s %s\n  %s %q ref=%s %q\n", r.Method, r.URL.EscapedPath(), st.State, st.Name, st.Ref, st.Description)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{}`))
	}))
	defer api.Close()

	r, err := gitlab.New(gitlab.Options{BaseURL: api.URL, Token: status.Secret("glpat-example")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close(context.Background())

	b := statustest.NewBuild("linux").Number(7).Repository("git@gitlab.example.com:group/app.git").
		Step("test", status.Failure).Failed()
	for _, e := range b.Events() {
		if err := r.Report(context.Background(), e); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// POST /api/v4/projects/group%2Fapp/statuses/0123456789abcdef0123456789abcdef01234567
	//   running "herald/linux" ref=main "Build #7 started."
	// POST /api/v4/projects/group%2Fapp/statuses/0123456789abcdef0123456789abcdef01234567
	//   failed "herald/linux" ref=main "Build #7 failed: failed test"
}
