package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/heraldci/herald/stash"
	"github.com/heraldci/herald/stash/stashtest"
	"github.com/heraldci/herald/status"
)

// stashTarget posts build statuses to Bitbucket Server, or to an
// in-process stand-in of its API (-stash-url local).
type stashTarget struct {
	url, tokenFile string
}

func (s *stashTarget) Flags(fs *flag.FlagSet) {
	fs.StringVar(&s.url, "stash-url", "", `Bitbucket Server base URL for build statuses, or "local" for an in-process API double`)
	fs.StringVar(&s.tokenFile, "stash-token-file", "", "file holding a Bitbucket Server personal access token")
}

func (s *stashTarget) Start(ctx context.Context, d *demo) error {
	if s.url == "" {
		if s.tokenFile != "" {
			return errors.New("-stash-token-file needs -stash-url")
		}
		return nil
	}
	o := stash.Options{BaseURL: s.url, Logger: d.log} // the links: the builds' pages, from the Hub's WebURL
	if s.url == "local" {
		double := stashtest.New(stashtest.Options{Token: "demo-token"})
		api, err := startAPIDouble(d, "stash", double, func() []string {
			var out []string
			for _, r := range double.Requests() {
				out = append(out, fmt.Sprintf("%s %s %s -> %d", r.At.Format("15:04:05"), r.Method, r.Path, r.Code)+" "+string(r.Body))
			}
			return out
		}, double.Problems)
		if err != nil {
			return err
		}
		o.BaseURL, o.Token = api, "demo-token"
		d.where("stash: build statuses to a local API double, listed at %s/", api)
	}
	if s.tokenFile != "" {
		b, err := os.ReadFile(s.tokenFile)
		if err != nil {
			return fmt.Errorf("-stash-token-file: %w", err)
		}
		o.Token = status.Secret(strings.TrimSpace(string(b)))
	}
	r, err := stash.New(o)
	if err != nil {
		return err
	}
	if s.url != "local" {
		d.where("stash: build statuses via %s", r)
	}
	d.hub.Add(r)
	return nil
}
