package status

import (
	"net/url"
	"strconv"
	"strings"
)

// Links builds the URLs of the web status (package web serves these paths),
// so mails, chat messages, forge statuses and the pages all point at the
// same places: a Hub with HubOptions.WebURL gives every build it publishes
// its page's URL (Build.URL), which the targets link to. Names are
// path-escaped: a builder "team/linux" is one path
// segment. The zero value builds root-relative paths ("/builders/linux").
type Links struct {
	// Base is the absolute URL under which browsers reach the web status,
	// with its path prefix when it is mounted below the root:
	// "https://ci.example.org" or "https://example.org/ci/". A trailing
	// slash is ignored.
	Base string
}

func (l Links) root() string { return strings.TrimSuffix(l.Base, "/") }

// Home returns the welcome page's URL.
func (l Links) Home() string { return l.root() + "/" }

// Builder returns the URL of a builder's page.
func (l Links) Builder(name string) string { return l.root() + "/builders/" + url.PathEscape(name) }

// Build returns the URL of a build's page.
func (l Links) Build(builder string, number int) string {
	return l.Builder(builder) + "/builds/" + strconv.Itoa(number)
}

// Step returns the URL of a step of a build.
func (l Links) Step(builder string, number int, step string) string {
	return l.Build(builder, number) + "/steps/" + url.PathEscape(step)
}

// Log returns the URL of a step's log (its HTML page; add "/text" for the
// plain text).
func (l Links) Log(ref LogRef) string {
	return l.Step(ref.Builder, ref.Build, ref.Step) + "/logs/" + url.PathEscape(ref.Name)
}

// Change returns the URL of a change's page.
func (l Links) Change(id int64) string { return l.root() + "/changes/" + strconv.FormatInt(id, 10) }

// Worker returns the URL of a worker's entry on the workers page.
func (l Links) Worker(name string) string { return l.root() + "/buildslaves#" + url.PathEscape(name) }
