package bitbucket_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/heraldci/herald/bitbucket"
	"github.com/heraldci/herald/bitbucket/bitbuckettest"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// Bitbucket Cloud (here the API double) keeps one build status per commit
// and key: INPROGRESS while the build runs, STOPPED once it is cancelled.
// The workspace and repository come from the build's repository URL.
func Example() {
	api := bitbuckettest.New(bitbuckettest.Options{Username: "ci-bot", Password: "app-password"})
	srv := httptest.NewServer(api)
	defer srv.Close()
	r, err := bitbucket.New(bitbucket.Options{BaseURL: srv.URL, Username: "ci-bot", Password: status.Secret("app-password")})
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
		if st, ok := api.Status("team/app", b.Build().Sources[0].Revision, "linux"); ok {
			fmt.Println(st.State, st.Name, st.URL)
		}
	}
	// Output:
	// INPROGRESS linux #7 https://ci.example.org/builders/linux/builds/7
	// STOPPED linux #7 https://ci.example.org/builders/linux/builds/7
}
