package web_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/web"
)

// A web status over a host's history, where logged-in users may force
// builds and anyone may ping builders.
func Example() {
	history := statustest.NewHistory(
		statustest.NewBuild("linux").Number(7).Step("test", status.Failure).Failed().Build(),
	)
	srv, err := web.New(web.Options{
		Title:   "Example",
		History: history,
		Control: &statustest.Control{},
		Authz: web.Authz{
			Auth: auth.Users(map[string]status.Secret{"alice": "wonderland"}),
			Rules: map[web.Action]web.Rule{
				web.ForceBuild:  web.Authenticated,
				web.PingBuilder: web.Always,
			},
		},
		RevLink: web.RevLinkFormat("https://github.com/example/repo/commit/%s"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// srv.ListenAndServe("127.0.0.1:8010") would serve it; here one request.
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/json?select=project&select=builders/linux/builds/7/steps/test&filter=1", nil))
	fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	// Output:
	// 200 {"builders":{"linux":{"builds":{"7":{"steps":{"test":{"isFinished":true,"isStarted":true,"logs":[["stdio","/builders/linux/builds/7/steps/test/logs/stdio"]],"name":"test","results":[2,["test","failure"]],"text":["test","failure"],"times":[1767366245,1767366255]}}}}}},"project":{"title":"Example"}}
}

// Options are checked up front; errors say what to do.
func ExampleNew_error() {
	_, err := web.New(web.Options{})
	fmt.Println(err)
	// Output:
	// web: Options.History is nil: pass the host's status.History (store.Memory or your own)
}

// Buildbot's changecommentlink tuple, with Python-style group references.
func ExampleCommentLink() {
	link, _ := web.CommentLink(`#(\d+)`, `https://trac.example.org/ticket/\1`, `Ticket \g<0>`)
	fmt.Println(link("Fixes #42", "proj"))
	// Output:
	// Fixes <a href="https://trac.example.org/ticket/42" title="Ticket #42">#42</a>
}
