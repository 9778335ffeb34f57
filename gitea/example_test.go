package gitea_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/heraldci/herald/gitea"
	"github.com/heraldci/herald/gitea/giteatest"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A Forgejo instance under a sub-path (here the API double) keeps every
// status set: pending when the build starts, warning when it ends with
// warnings. Owner and name come from the build's repository URL.
func Example() {
	api := giteatest.New(giteatest.Options{Token: "0123456789abcdef", Prefix: "/git"})
	srv := httptest.NewServer(api)
	defer srv.Close()
	r, err := gitea.New(gitea.Options{BaseURL: srv.URL + "/git/", Token: status.Secret("0123456789abcdef")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close(context.Background())

	b := statustest.NewBuild("linux").Number(7).Repository("https://forge.example.org/git/octo/hello.git").Result(status.Warnings)
	for _, e := range b.Events() {
		if err := r.Report(context.Background(), e); err != nil {
			fmt.Println(err)
		}
	}
	for _, st := range api.Statuses("octo/hello", b.Build().Sources[0].Revision) {
		fmt.Printf("%s %s: %s\n", st.Context, st.State, st.Description)
	}
	// Output:
	// herald/linux pending: Build #7 started.
	// herald/linux warning: Build #7 succeeded with warnings: build warnings
}
