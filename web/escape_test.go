package web

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// Every value the waterfall, grids and console show comes from outside
// (webhooks, the host's builders and steps). With hostile text in each
// field and an unsafe link in a step's URLs, the served pages hold neither
// a raw tag, nor a quote that ends an attribute, nor a javascript: link.
func TestViewsEscapeEveryField(t *testing.T) {
	const evil = `"><script>alert(1)</script><x y='`
	c := status.Change{ID: 1, Author: evil, Revision: evil, Branch: evil, Repository: evil, Project: evil,
		When: t0, Comments: evil, Files: []string{evil}}
	b := statustest.NewBuild(evil).Number(1).Tags(evil).Started(t0).Reason(evil).Worker(evil).
		Change(c).Revision(evil).Branch(evil).Step(evil, status.Failure).Text(evil).Failed().Build()
	b.Steps[0].Text = []string{evil}
	b.Steps[0].Logs[0].Name = evil
	b.Steps[0].URLs = []status.Link{{Name: evil, URL: "javascript:alert(1)"}, {Name: "ok", URL: `https://x.test/"` + evil}}
	running := statustest.NewBuild(evil).Number(2).Started(t0.Add(time.Minute)).Step(evil, status.Success).Running().Build()
	h := statustest.NewHistory(b, running)
	h.AddChange(c)
	h.AddWorker(status.Worker{Name: evil, Connected: true, Builders: []string{evil}})

	s := newServer(t, h, Options{})
	w := newWireClient(t, s)
	for _, p := range []string{"/waterfall?show_events=true", "/grid", "/tgrid", "/console", "/builders", "/one_line_per_build",
		"/changes", "/changes/1", "/buildslaves"} {
		body := w.get(p)
		assert.NotContains(t, body, "<script>alert", p)
		assert.NotContains(t, body, "<x y=", p)
		assert.NotContains(t, body, "javascript:", p)
		assert.Contains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;", "%s shows the text, escaped", p)
	}
}
