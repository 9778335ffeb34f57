package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/store"
)

// A master that stopped with linux #7 running tells its reporters, once
// they are added, that the build ended.
func ExampleMemory_FinishInterrupted() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "herald-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "history.db")

	// The previous process: linux #7 is running when it stops.
	history, _ := store.OpenMemory(path, store.MemoryOptions{Master: "ci1"})
	status.StartBuild(status.NewHub(status.HubOptions{History: history, Master: "ci1"}), &status.Build{Builder: "linux", Number: 7}).
		StartStep("test")
	history.Close(ctx)

	// This process.
	history, err := store.OpenMemory(path, store.MemoryOptions{Master: "ci1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer history.Close(ctx)
	hub := status.NewHub(status.HubOptions{History: history, Master: "ci1"})
	hub.Add(status.Filter(status.ReporterFunc(func(_ context.Context, e status.Event) error {
		fmt.Printf("%s #%d: %s, %s\n", e.Build.Builder, e.Build.Number, e.Build.Result, strings.Join(e.Build.Text, " "))
		return nil
	}), status.Kinds(status.BuildFinished)))
	if _, err := history.FinishInterrupted(ctx, hub); err != nil {
		fmt.Println(err)
	}
	hub.Shutdown(ctx)
	// Output: linux #7: exception, interrupted by a master restart
}
