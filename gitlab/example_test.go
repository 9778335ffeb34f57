package gitlab_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/heraldci/herald/gitlab"
	"github.com/heraldci/herald/gitlab/gitlabtest"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A build of a GitLab project (here the API double, as a self-managed
// instance) sets running when it starts, then its result: GitLab moves
// the one status. The project comes from the build's repository URL.
func Example() {
	api := gitlabtest.New(gitlabtest.Options{Token: "glpat-example", Projects: []string{"group/app"}})
	srv := httptest.NewServer(api)
	defer srv.Close()
	r, err := gitlab.New(gitlab.Options{BaseURL: srv.URL, Token: status.Secret("glpat-example")})
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
	for _, q := range api.Requests() {
		fmt.Println(q.Method, q.Path, q.State, q.Code)
	}
	st := api.Statuses("group/app", b.Build().Sources[0].Revision)[0]
	fmt.Printf("%s %s on %s: %s\n", st.Name, st.State, st.Ref, st.Description)
	// Output:
	// POST /api/v4/projects/group%2Fapp/statuses/0123456789abcdef0123456789abcdef01234567 running 201
	// POST /api/v4/projects/group%2Fapp/statuses/0123456789abcdef0123456789abcdef01234567 failed 201
	// herald/linux failed on main: Build #7 failed: failed test
}
