package github_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/heraldci/herald/github"
	"github.com/heraldci/herald/github/githubtest"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A GitHub Enterprise server (here a stand-in that prints what it gets)
// receives a pending status when a build starts and the result when it
// finishes. Owner and name come from the repository URL of the build.
func Example() {
	ghe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var st struct{ State, Description, Context string }
		_ = json.NewDecoder(r.Body).Decode(&st)
		fmt.Printf("%s %s\n  %s %q %q\n", r.Method, r.URL.Path, st.State, st.Context, st.Description)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{}`))
	}))
	defer ghe.Close()

	r, err := github.New(github.Options{
		Token:   status.Secret("ghp_example"),
		BaseURL: ghe.URL, // https://github.example.com: /api/v3/ is added
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close(context.Background())

	b := statustest.NewBuild("linux").Number(7).Repository("git@github.example.com:octo/hello.git").
		Step("test", status.Failure).Failed()
	for _, e := range b.Events() {
		if err := r.Report(context.Background(), e); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// POST /api/v3/repos/octo/hello/statuses/0123456789abcdef0123456789abcdef01234567
	//   pending "herald/linux" "Build #7 started."
	// POST /api/v3/repos/octo/hello/statuses/0123456789abcdef0123456789abcdef01234567
	//   failure "herald/linux" "Build #7 failed: failed test"
}

// Buildbot's GitHubStatus configuration carries over with Interpolate.
func ExampleNew_interpolate() {
	_, err := github.New(github.Options{
		Token:            status.Secret("githubAPIToken"),
		RepoOwner:        status.MustInterpolate("%(prop:github_repo_owner)s"),
		RepoName:         status.MustInterpolate("%(prop:github_repo_name)s"),
		SHA:              status.MustInterpolate("%(src::revision)s"),
		StartDescription: status.MustInterpolate("Build started."),
		EndDescription:   status.MustInterpolate("Build done."),
	})
	fmt.Println(err)
	// Output: <nil>
}

// With Checks, each build is a check run: created in_progress when it
// starts, completed with its conclusion, the failing step's log tail and
// annotations for the log lines that name file:line when it ends. The
// logs come from the host's History; the token is a GitHub App's
// installation token (in production a TokenSource that renews it).
func ExampleOptions_checks() {
	api := githubtest.New(githubtest.Options{})
	srv := httptest.NewServer(api)
	defer srv.Close()

	b := statustest.NewBuild("linux").Number(7).Repository("https://github.com/octo/hello").
		Step("test", status.Failure).Failed()
	history := statustest.NewHistory()
	history.SetLog(status.LogRef{Builder: "linux", Build: 7, Step: "test", Name: "stdio"},
		"=== RUN   TestAdd\n    add_test.go:12: got 3, want 4\n--- FAIL: TestAdd\n")

	r, err := github.New(github.Options{
		Token:   status.Secret("ghs_installation_token"),
		BaseURL: srv.URL,
		Checks:  true,
		History: history,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close(context.Background())
	for _, e := range b.Events() {
		if err := r.Report(context.Background(), e); err != nil {
			fmt.Println(err)
		}
	}
	for _, run := range api.CheckRuns("octo", "hello", b.Build().Sources[0].Revision) {
		fmt.Printf("%s %s %s: %s\n", run.Name, run.Status, run.Conclusion, run.Title)
		for _, a := range run.Annotations {
			fmt.Printf("  %s:%d %s: %s\n", a.Path, a.StartLine, a.Level, a.Message)
		}
	}
	// Output:
	// herald/linux completed failure: Build #7 failed: failed test
	//   add_test.go:12 failure: got 3, want 4
}
