package main

import (
	"context"
	"flag"

	"github.com/heraldci/herald/gitea"
	"github.com/heraldci/herald/gitea/giteatest"
)

// giteaTarget sets commit statuses on Gitea or Forgejo, or on an
// in-process stand-in of their API (-gitea-url local).
type giteaTarget struct{ url, tokenFile string }

func (g *giteaTarget) Flags(fs *flag.FlagSet) {
	fs.StringVar(&g.url, "gitea-url", "", `Gitea or Forgejo URL for commit statuses, or "local" for an in-process API double`)
	fs.StringVar(&g.tokenFile, "gitea-token-file", "", "file holding a Gitea access token (write:repository)")
}

func (g *giteaTarget) Start(ctx context.Context, d *demo) error {
	o := gitea.Options{Logger: d.log}
	double := giteatest.New(giteatest.Options{Token: "demo-token"})
	var err error
	o.BaseURL, o.Token, err = forgeAPI(d, "gitea", g.url, g.tokenFile, double, func() []string {
		return requestLines(double.Requests(), func(r giteatest.Request) (string, string, int, []byte) {
			return r.Method, r.Path, r.Code, r.Body
		})
	}, double.Problems)
	if err != nil || o.BaseURL == "" {
		return err
	}
	r, err := gitea.New(o)
	if err != nil {
		return err
	}
	d.hub.Add(r)
	return nil
}
