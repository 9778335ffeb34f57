package status_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// A host composes reporters on a Hub and publishes its build events.
func Example() {
	hub := status.NewHub(status.HubOptions{Logger: slog.New(slog.DiscardHandler), Master: "ci1"})

	// Tell only about failed builds of builders tagged "release".
	alarm := status.ReporterFunc(func(ctx context.Context, e status.Event) error {
		fmt.Printf("%s #%d: %s\n", e.Build.Builder, e.Build.Number, e.Build.Result)
		return nil
	})
	hub.Add(status.Filter(alarm, status.And(status.Tags("release"), status.Results(status.Failure))))

	for _, e := range statustest.NewBuild("deb-amd64").Number(41).Tags("release").Succeeded().Events() {
		hub.Publish(e)
	}
	for _, e := range statustest.NewBuild("deb-amd64").Number(42).Tags("release").Failed().Events() {
		hub.Publish(e)
	}
	_ = hub.Shutdown(context.Background())
	// Output: deb-amd64 #42: failure
}

func ExampleInterpolate() {
	subject, err := status.Interpolate("%(prop:buildername)s #%(prop:buildnumber)s %(kw:result)s on %(src::branch:-trunk)s")
	if err != nil {
		panic(err)
	}
	b := statustest.NewBuild("linux").Number(253).Build()
	fmt.Println(subject.Render(b, map[string]string{"result": "failed"}))
	// Output: linux #253 failed on main
}

func ExampleSecret() {
	token := status.Secret("ghp_0123456789")
	fmt.Println(token, len(token.Reveal()))
	// Output: <redacted> 14
}
