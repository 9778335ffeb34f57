package main

import (
	"context"
	"flag"

	"github.com/heraldci/herald/bitbucket"
	"github.com/heraldci/herald/bitbucket/bitbuckettest"
)

// bitbucketTarget posts build statuses to Bitbucket Cloud, or to an
// in-process stand-in of its API (-bitbucket-api local).
type bitbucketTarget struct{ api, tokenFile string }

func (b *bitbucketTarget) Flags(fs *flag.FlagSet) {
	fs.StringVar(&b.api, "bitbucket-api", "", `Bitbucket Cloud API URL for build statuses (https://api.bitbucket.org), or "local" for an in-process API double`)
	fs.StringVar(&b.tokenFile, "bitbucket-token-file", "", "file holding a Bitbucket Cloud access token")
}

func (b *bitbucketTarget) Start(ctx context.Context, d *demo) error {
	o := bitbucket.Options{Logger: d.log} // the links: the builds' pages, from the Hub's WebURL
	double := bitbuckettest.New(bitbuckettest.Options{Token: "demo-token"})
	var err error
	o.BaseURL, o.Token, err = forgeAPI(d, "bitbucket", b.api, b.tokenFile, double, func() []string {
		return requestLines(double.Requests(), func(r bitbuckettest.Request) (string, string, int, []byte) {
			return r.Method, r.Path, r.Code, r.Body
		})
	}, double.Problems)
	if err != nil || o.BaseURL == "" {
		return err
	}
	r, err := bitbucket.New(o)
	if err != nil {
		return err
	}
	d.hub.Add(r)
	return nil
}
