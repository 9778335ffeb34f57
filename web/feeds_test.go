package web

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/status/statustest"
)

// The shapes below hold what RSS 2.0 and Atom 1.0 require, read back from
// the served bytes.

type rssBack struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title string `xml:"title"`
		// link matches <link> and <atom:link>: keep both, tell apart by
		// namespace.
		Links []struct {
			XMLName xml.Name
			Text    string `xml:",chardata"`
			Href    string `xml:"href,attr"`
			Rel     string `xml:"rel,attr"`
		} `xml:"link"`
		Link        string `xml:"-"`
		Description string `xml:"description"`
		Items       []struct {
			Title       string `xml:"title"`
			Link        string `xml:"link"`
			Description string `xml:"description"`
			GUID        string `xml:"guid"`
			PubDate     string `xml:"pubDate"`
		} `xml:"item"`
	} `xml:"channel"`
}

type atomBack struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Author  []struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Links []struct {
		Href string `xml:"href,attr"`
		Rel  string `xml:"rel,attr"`
	} `xml:"link"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Link    struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Summary string `xml:"summary"`
	} `xml:"entry"`
}

func parseRSS(t *testing.T, body string) rssBack {
	t.Helper()
	var f rssBack
	if err := xml.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("RSS does not parse: %v\n%s", err, body)
	}
	for _, l := range f.Channel.Links {
		switch {
		case l.XMLName.Space == "":
			f.Channel.Link = l.Text
		case l.XMLName.Space == "http://www.w3.org/2005/Atom" && l.Rel == "self" && !strings.HasSuffix(strings.SplitN(l.Href, "?", 2)[0], "/rss"):
			t.Errorf("atom:link rel=self %q is not the feed", l.Href)
		}
	}
	if f.Version != "2.0" || f.Channel.Title == "" || f.Channel.Link == "" || f.Channel.Description == "" {
		t.Errorf("RSS lacks version 2.0 or a channel title, link and description: %+v", f)
	}
	for _, it := range f.Channel.Items {
		if it.Title == "" && it.Description == "" {
			t.Error("RSS item has neither title nor description")
		}
		if _, err := time.Parse(time.RFC1123Z, it.PubDate); err != nil {
			t.Errorf("RSS pubDate %q is not RFC 822: %v", it.PubDate, err)
		}
		if !strings.HasPrefix(it.Link, "https://") || it.GUID != it.Link {
			t.Errorf("RSS item link %q / guid %q not absolute and equal", it.Link, it.GUID)
		}
	}
	return f
}

func parseAtom(t *testing.T, body string) atomBack {
	t.Helper()
	var f atomBack
	if err := xml.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("Atom does not parse: %v\n%s", err, body)
	}
	if f.ID == "" || f.Title == "" || len(f.Author) == 0 {
		t.Errorf("Atom feed lacks id, title or author: %+v", f)
	}
	if _, err := time.Parse(time.RFC3339, f.Updated); err != nil {
		t.Errorf("Atom updated %q: %v", f.Updated, err)
	}
	self := false
	for _, l := range f.Links {
		self = self || l.Rel == "self"
	}
	if !self {
		t.Error("Atom feed has no rel=self link")
	}
	for _, e := range f.Entries {
		if e.ID == "" || e.Title == "" || e.Link.Href == "" {
			t.Errorf("Atom entry lacks id, title or link: %+v", e)
		}
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
			t.Errorf("Atom entry updated %q: %v", e.Updated, err)
		}
	}
	return f
}

func TestFeeds(t *testing.T) {
	h := viewsFixture()
	h.AddBuild(statustest.NewBuild("linux").Number(3).Tags("ci", "unix").Started(t0.Add(20*time.Minute)).
		Step("deploy", status.Exception).Result(status.Exception).Build())
	h.AddBuild(statustest.NewBuild("docs").Number(3).Tags("docs").Branch("release").Started(t0.Add(21*time.Minute)).
		Step("sphinx", status.Failure).Failed().Build())
	s := newServer(t, h, Options{BaseURL: "https://ci.example.org/herald/"})

	resp, body := fetch(t, s, "/rss")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/rss+xml") {
		t.Errorf("RSS Content-Type %q", ct)
	}
	f := parseRSS(t, body)
	var titles []string
	for _, it := range f.Channel.Items {
		titles = append(titles, it.Title)
	}
	// Failures and exceptions, newest first; passing builds left out.
	want := []string{"docs build #3 failure: failed sphinx", "linux build #3 exception: build exception", "linux build #2 failure: failed test"}
	if strings.Join(titles, "|") != strings.Join(want, "|") {
		t.Errorf("RSS items %q, want %q", titles, want)
	}
	if got := f.Channel.Items[2].Link; got != "https://ci.example.org/herald/builders/linux/builds/2" {
		t.Errorf("item link %q", got)
	}
	if d := f.Channel.Items[2].Description; !strings.Contains(d, "Step test: failure https://ci.example.org/herald/builders/linux/builds/2/steps/test/logs/stdio") ||
		!strings.Contains(d, "Responsible: Bob <bob@example.org>") {
		t.Errorf("item description lacks the failed step's log or the blamelist:\n%s", d)
	}
	golden(t, "rss.golden.xml", body)

	resp, body = fetch(t, s, "/atom")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/atom+xml") {
		t.Errorf("Atom Content-Type %q", ct)
	}
	a := parseAtom(t, body)
	if len(a.Entries) != 3 || a.Entries[0].Title != want[0] || a.ID != "https://ci.example.org/herald/atom" {
		t.Errorf("Atom feed: id %q, entries %+v", a.ID, a.Entries)
	}
	if a.Updated != t0.Add(22*time.Minute).Format(time.RFC3339) {
		t.Errorf("Atom updated %s, want the newest build's end", a.Updated)
	}
	golden(t, "atom.golden.xml", body)

	// The waterfall's filters.
	for _, tc := range []struct {
		query string
		n     int
	}{
		{"builder=linux", 2}, {"builder=docs&builder=windows", 1}, {"tag=docs", 1},
		{"branch=release", 1}, {"branch=main&tag=unix", 2}, {"numbuilds=1", 1}, {"builder=mac", 0},
	} {
		if n := len(parseRSS(t, mustGet(t, s, "/rss?"+tc.query)).Channel.Items); n != tc.n {
			t.Errorf("/rss?%s: %d items, want %d", tc.query, n, tc.n)
		}
		if n := len(parseAtom(t, mustGet(t, s, "/atom?"+tc.query)).Entries); n != tc.n {
			t.Errorf("/atom?%s: %d entries, want %d", tc.query, n, tc.n)
		}
	}
}

func TestFeedResultsOption(t *testing.T) {
	s := newServer(t, viewsFixture(), Options{FeedResults: []status.Result{status.Warnings}})
	f := parseAtom(t, mustGet(t, s, "/atom"))
	if len(f.Entries) != 1 || !strings.HasPrefix(f.Entries[0].Title, "docs build #2 warnings") {
		t.Errorf("FeedResults warnings: %+v", f.Entries)
	}
	if !strings.Contains(f.Title, "warnings") {
		t.Errorf("title %q does not say which results", f.Title)
	}
}

// Without BaseURL links come from the request's host, with the prefix.
func TestFeedLinksFromRequest(t *testing.T) {
	s := newServer(t, viewsFixture(), Options{Prefix: "/ci"})
	r, _ := http.NewRequest("GET", "http://builds.example.net/ci/rss", nil)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	var f rssBack
	if err := xml.Unmarshal(rec.Body.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	if got := f.Channel.Items[0].Link; got != "http://builds.example.net/ci/builders/linux/builds/2" {
		t.Errorf("link %q", got)
	}
}
