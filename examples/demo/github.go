package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/heraldci/herald/github"
	"github.com/heraldci/herald/github/githubtest"
	"github.com/heraldci/herald/status"
)

// githubTarget sets commit statuses on GitHub, GitHub Enterprise, or an
// in-process stand-in of the API (-github-api local).
type githubTarget struct {
	tokenFile, api string
	checks         bool
}

func (g *githubTarget) Flags(fs *flag.FlagSet) {
	fs.StringVar(&g.tokenFile, "github-token-file", "", "file holding a GitHub token: set commit statuses (on api.github.com unless -github-api)")
	fs.StringVar(&g.api, "github-api", "", `GitHub API base URL (Enterprise: https://HOST/api/v3/), or "local" for an in-process API double`)
	fs.BoolVar(&g.checks, "github-checks", false, "report check runs with log tails and annotations instead of commit statuses (needs a GitHub App installation token)")
}

func (g *githubTarget) Start(ctx context.Context, d *demo) error {
	if g.tokenFile == "" && g.api == "" {
		return nil
	}
	o := github.Options{BaseURL: g.api, Logger: d.log}
	if g.checks {
		o.Checks, o.History = true, d.store
	}
	if g.api == "local" {
		double := githubtest.New(githubtest.Options{Token: "ghs_demo-token"})
		api, err := startAPIDouble(d, "github", double, func() []string {
			var out []string
			for _, r := range double.Requests() {
				out = append(out, fmt.Sprintf("%s %s %s -> %d", r.At.Format("15:04:05"), r.Method, r.Path, r.Code)+" "+string(r.Body))
			}
			return out
		}, double.Problems)
		if err != nil {
			return err
		}
		o.BaseURL, o.Token = api+"/api/v3/", "ghs_demo-token" // an installation token's form, which check runs need
		d.where("github: %s to a local API double, listed at %s/", map[bool]string{false: "statuses", true: "check runs"}[g.checks], api)
	}
	if g.tokenFile != "" {
		b, err := os.ReadFile(g.tokenFile)
		if err != nil {
			return fmt.Errorf("-github-token-file: %w", err)
		}
		o.Token = status.Secret(strings.TrimSpace(string(b)))
	}
	if o.Token.IsZero() {
		return errors.New("-github-api needs -github-token-file (or -github-api local)")
	}
	r, err := github.New(o)
	if err != nil {
		return err
	}
	if g.api != "local" {
		d.where("github: commit statuses via %s", r)
	}
	d.hub.Add(r)
	return nil
}
