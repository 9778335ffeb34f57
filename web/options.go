package web

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/heraldci/herald/status"
)

// Options configure a Server. History is required; everything else has a
// working default.
type Options struct {
	// Title names the project in page headers; TitleURL links it.
	Title, TitleURL string
	// BaseURL is the absolute URL under which browsers reach these pages,
	// Prefix included when the server is mounted below the root
	// ("https://ci.example.org/", "https://example.org/ci/"). Links that
	// leave the browser (feeds, /json) start with it; status.Links with the
	// same Base gives other reporters the same links. Optional: feeds then
	// use the request's host, /json paths from the root.
	BaseURL string
	// Prefix is the path the server is mounted under ("/ci"), when the host
	// mounts it below the root. The server strips it and prefixes its links.
	Prefix string

	// History is read by every page. Required.
	History status.History
	// Control performs actions. Nil: the server is read-only and shows no
	// action forms.
	Control status.Control
	// Authz decides who may do what; the zero value allows viewing only.
	Authz Authz

	// PublicHTML is a directory served beside the built-in pages (CSS,
	// images, an index.html replacing the welcome page), Buildbot's
	// public_html. The embedded default.css and robots.txt are used for
	// files it lacks. Dotfiles (.htpasswd, .git) are never served, and
	// symbolic links may not lead out of the directory.
	PublicHTML string
	// Templates overrides built-in templates by file name (layout.html,
	// builder.html...); os.DirFS(dir) reads a directory. A template here
	// also wins over a PublicHTML file for the same page, as in Buildbot.
	// Templates are parsed once, in New.
	Templates fs.FS

	// ChangeHook, when set, is mounted at /change_hook/ (a hooks.Handler).
	ChangeHook http.Handler
	// Handlers mounts extra handlers inside the web space, by path
	// ("/custom/"): Buildbot's putChild.
	Handlers map[string]http.Handler

	// RevLink turns a revision into a URL (RevLinkFormat, RevLinkMap or a
	// func). Nil: a change's own RevLink, if any.
	RevLink RevLink
	// ChangeCommentLink decorates change comments with links (CommentLink,
	// CommentLinkMap or a func).
	ChangeCommentLink CommentLinker
	// Projects and Repositories map names to URLs (URLMap or a func).
	Projects, Repositories URLFunc

	// JSONAllowOrigin, when set, is sent as /json's
	// Access-Control-Allow-Origin header, letting pages of other sites read
	// the JSON API from their visitors' browsers: "https://dash.example.org",
	// or "*" for any site. Off by default: with "*", any page a visitor
	// opens can read the API from the visitor's network, such as a CI on an
	// intranet that the page's own site cannot reach.
	JSONAllowOrigin string

	// NumBuilds is how many builds pages show by default (20); ?numbuilds=
	// overrides it.
	NumBuilds int
	// Timeouts bound the connections of the listeners the Server starts
	// (defaults: 10s for headers, 1 min per request and per response, 2 min
	// idle).
	Timeouts Timeouts
	// HTTPLog, when set, receives one line per request, like Buildbot's
	// http.log.
	HTTPLog *HTTPLog
	// Logger receives errors. Default: the logger of the Hub the Server is
	// added to (see status.Logging), and slog.Default() until then.
	Logger *slog.Logger

	// Display options of the waterfall, console and feeds (views.go).
	// NumEvents is how many time rows the waterfall shows (200), up to
	// NumEventsMax (2000) when ?num_events= asks for more.
	NumEvents, NumEventsMax int
	// OrderConsoleByTime orders the console's changes by commit time;
	// otherwise numeric revisions sort as numbers and others by time.
	OrderConsoleByTime bool
	// FeedResults are the results /rss and /atom list (failure, exception).
	FeedResults []status.Result
}

const (
	defaultNumBuilds = 20
	// maxNumBuilds bounds ?numbuilds= so one request cannot ask for the
	// whole history.
	maxNumBuilds = 1000
)

func (o *Options) validate() error {
	if o.History == nil {
		return errors.New("web: Options.History is nil: pass the host's status.History (store.Memory or your own)")
	}
	if o.NumBuilds < 0 {
		return fmt.Errorf("web: Options.NumBuilds is %d: use a positive number, or 0 for %d", o.NumBuilds, defaultNumBuilds)
	}
	if o.NumBuilds == 0 {
		o.NumBuilds = defaultNumBuilds
	}
	if o.NumBuilds > maxNumBuilds {
		o.NumBuilds = maxNumBuilds
	}
	if o.Prefix != "" {
		if !strings.HasPrefix(o.Prefix, "/") || strings.HasSuffix(o.Prefix, "/") {
			return fmt.Errorf("web: Options.Prefix %q must start with / and not end with one, like \"/ci\"", o.Prefix)
		}
	}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil || !u.IsAbs() || u.Host == "" {
			return fmt.Errorf("web: Options.BaseURL %q is not an absolute URL: use one like https://ci.example.org/", o.BaseURL)
		}
	}
	for path := range o.Handlers {
		if !strings.HasPrefix(path, "/") {
			return fmt.Errorf("web: Options.Handlers path %q must start with /", path)
		}
	}
	if o.Title == "" {
		o.Title = "Herald"
	}
	if o.HTTPLog != nil {
		h := *o.HTTPLog // defaults go into a copy, not the caller's struct
		if err := h.validate(); err != nil {
			return err
		}
		o.HTTPLog = &h
	}
	if err := o.validateDisplay(); err != nil {
		return err
	}
	return o.Authz.validate()
}
