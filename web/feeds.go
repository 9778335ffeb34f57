package web

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldci/herald/status"
)

// /rss and /atom list the latest builds whose result is one of
// Options.FeedResults (failures by default), newest first, narrowed by the
// waterfall's builder=, tag= and branch= and counted by numbuilds=.
// failures_only=false (Buildbot's switch) lists every finished build
// instead; failures_only=true keeps to FeedResults. Links
// are absolute, from Options.BaseURL, or else from the request's host.

// feedItem is what both feed formats say about one build.
type feedItem struct {
	Title, Link, Summary string
	Authors              []string
	When                 time.Time
}

type feed struct {
	Title, Link, Self string
	Updated           time.Time
	Items             []feedItem
}

func (s *Server) feed(r *http.Request, self string) (*feed, error) {
	q := r.URL.Query()
	bq := status.BuildQuery{
		Builders: queryList(q, "builder"),
		Tags:     queryList(q, "tag"),
		Branches: queryList(q, "branch"),
		Results:  s.opts.FeedResults,
		Finished: true,
		Limit:    s.numBuilds(r),
	}
	if !queryBool(q, "failures_only", true) {
		bq.Results = nil
	}
	builds, err := s.opts.History.Builds(r.Context(), bq)
	if err != nil {
		return nil, err
	}
	// Started order is History's; a feed reads best by when builds ended.
	slices.SortStableFunc(builds, func(a, b *status.Build) int { return b.Finished.Compare(a.Finished) })
	base := s.baseURL(r)
	links := status.Links{Base: base}
	title := s.opts.Title + ": finished builds"
	if bq.Results != nil {
		results := make([]string, len(bq.Results))
		for i, res := range bq.Results {
			results[i] = res.String()
		}
		title = s.opts.Title + ": builds with result " + strings.Join(results, " or ")
	}
	f := &feed{
		Title: title,
		Link:  base + "/waterfall",
		Self:  base + self,
	}
	if len(r.URL.RawQuery) > 0 {
		f.Self += "?" + r.URL.RawQuery
	}
	for _, b := range builds {
		f.Items = append(f.Items, feedItemOf(links, b))
		if b.Finished.After(f.Updated) {
			f.Updated = b.Finished
		}
	}
	if f.Updated.IsZero() {
		f.Updated = s.now()
	}
	return f, nil
}

func feedItemOf(links status.Links, b *status.Build) feedItem {
	link := links.Build(b.Builder, b.Number)
	it := feedItem{
		Title:   b.Builder + " build #" + strconv.Itoa(b.Number) + " " + b.Result.String(),
		Link:    link,
		When:    b.Finished,
		Authors: b.Blamelist,
	}
	if len(b.Text) > 0 {
		it.Title += ": " + strings.Join(b.Text, " ")
	}
	var sum strings.Builder
	sum.WriteString("Builder " + b.Builder + ", build " + strconv.Itoa(b.Number) + ": " + b.Result.String() + ".\n")
	if b.Reason != "" {
		sum.WriteString("Reason: " + b.Reason + "\n")
	}
	for _, src := range b.Sources {
		if src.Revision != "" || src.Branch != "" {
			sum.WriteString("Source: " + strings.TrimSpace(src.Repository+" "+src.Branch+" "+src.Revision) + "\n")
		}
	}
	if len(b.Blamelist) > 0 {
		sum.WriteString("Responsible: " + strings.Join(b.Blamelist, ", ") + "\n")
	}
	for _, st := range b.Steps {
		if st.Done() && st.Result != status.Success && st.Result != status.Skipped {
			sum.WriteString("Step " + st.Name + ": " + st.Result.String())
			for _, l := range st.Logs {
				sum.WriteString(" " + links.Log(l))
			}
			sum.WriteString("\n")
		}
	}
	it.Summary = sum.String()
	return it
}

// baseURL is Options.BaseURL without its trailing slash, or the URL the
// request came to (with the prefix).
func (s *Server) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return strings.TrimSuffix(s.opts.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.opts.Prefix
}

// RSS 2.0 (https://www.rssboard.org/rss-specification).
type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Atom    string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	AtomLink      atomLink  `xml:"atom:link"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Generator     string    `xml:"generator"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	Description string  `xml:"description"`
	GUID        rssGUID `xml:"guid"`
	PubDate     string  `xml:"pubDate"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

// Atom 1.0 (RFC 4287).
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID      string       `xml:"id"`
	Title   string       `xml:"title"`
	Updated string       `xml:"updated"`
	Link    atomLink     `xml:"link"`
	Authors []atomPerson `xml:"author"`
	Summary string       `xml:"summary"`
}

func (s *Server) serveRSS(w http.ResponseWriter, r *http.Request) {
	f, err := s.feed(r, "/rss")
	if err != nil {
		s.renderErr(w, r, err)
		return
	}
	doc := rssDoc{Version: "2.0", Atom: "http://www.w3.org/2005/Atom", Channel: rssChannel{
		Title:         f.Title,
		Link:          f.Link,
		Description:   f.Title,
		AtomLink:      atomLink{Href: f.Self, Rel: "self", Type: "application/rss+xml"},
		LastBuildDate: f.Updated.UTC().Format(time.RFC1123Z),
		Generator:     "Herald",
	}}
	for _, it := range f.Items {
		doc.Channel.Items = append(doc.Channel.Items, rssItem{
			Title: it.Title, Link: it.Link, Description: it.Summary,
			GUID: rssGUID{IsPermaLink: true, Value: it.Link}, PubDate: it.When.UTC().Format(time.RFC1123Z),
		})
	}
	writeXML(w, "application/rss+xml; charset=utf-8", doc)
}

func (s *Server) serveAtom(w http.ResponseWriter, r *http.Request) {
	f, err := s.feed(r, "/atom")
	if err != nil {
		s.renderErr(w, r, err)
		return
	}
	doc := atomFeed{
		ID:      f.Self,
		Title:   f.Title,
		Updated: f.Updated.UTC().Format(time.RFC3339),
		Links:   []atomLink{{Href: f.Self, Rel: "self", Type: "application/atom+xml"}, {Href: f.Link, Rel: "alternate", Type: "text/html"}},
		Author:  atomPerson{Name: s.opts.Title},
	}
	for _, it := range f.Items {
		e := atomEntry{ID: it.Link, Title: it.Title, Updated: it.When.UTC().Format(time.RFC3339),
			Link: atomLink{Href: it.Link, Rel: "alternate", Type: "text/html"}, Summary: it.Summary}
		for _, a := range it.Authors {
			e.Authors = append(e.Authors, atomPerson{Name: a})
		}
		doc.Entries = append(doc.Entries, e)
	}
	writeXML(w, "application/atom+xml; charset=utf-8", doc)
}

func writeXML(w http.ResponseWriter, contentType string, doc any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		http.Error(w, "feed encoding failed", http.StatusInternalServerError)
		return
	}
	buf.WriteByte('\n')
	w.Header().Set("Content-Type", contentType)
	w.Write(buf.Bytes())
}
