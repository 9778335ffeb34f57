package web_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http/httptest"
	"regexp"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
	"github.com/heraldci/herald/store"
	"github.com/heraldci/herald/web"
)

// A README badge: /badge.svg shows the last finished build of a builder
// (or number=, or the build of a full commit hash with revision=).
func Example_badge() {
	history := statustest.NewHistory(
		statustest.NewBuild("linux").Number(6).Succeeded().Build(),
		statustest.NewBuild("linux").Number(7).Started(statustest.Epoch.Add(time.Hour)).Failed().Build(),
	)
	srv, err := web.New(web.Options{History: history})
	if err != nil {
		panic(err)
	}
	for _, path := range []string{"/badge.svg?builder=linux", "/badge.svg?builder=linux&number=6&label=build"} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var svg struct {
			Label string `xml:"aria-label,attr"`
		}
		xml.Unmarshal(rec.Body.Bytes(), &svg)
		fmt.Println(rec.Code, rec.Header().Get("Content-Type"), svg.Label)
	}
	// Output:
	// 200 image/svg+xml; charset=utf-8 linux: failing
	// 200 image/svg+xml; charset=utf-8 build: passing
}

// Live pages: the Server is a status.Reporter. Events reach the browsers
// of open pages (the waterfall, grids, console, build status) over
// Server-Sent Events at /events; the pages then redraw themselves from
// History. The store is the Hub's history, so it has every event before
// the server gets it, and a page never redraws from a history that lacks it.
func Example_live() {
	mem := store.NewMemory(store.MemoryOptions{})
	srv, err := web.New(web.Options{History: mem, NumEvents: 100})
	if err != nil {
		panic(err)
	}
	defer srv.Close(context.Background())
	hub := status.NewHub(status.HubOptions{History: mem})
	hub.Add(srv)

	for _, e := range statustest.NewBuild("linux").Number(1).Step("test", status.Success).Succeeded().Events() {
		hub.Publish(e)
	}
	if err := hub.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/waterfall", nil))
	boxes := regexp.MustCompile(`data-kind="(\w+)" data-builder="linux"`).FindAllStringSubmatch(rec.Body.String(), -1)
	for _, b := range boxes {
		fmt.Print(b[1], " ")
	}
	fmt.Println()
	// Output: build step start
}
