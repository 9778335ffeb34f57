package main

import (
	"context"
	"flag"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/hooks"
	"github.com/heraldci/herald/status"
)

// changeHooks serves /change_hook/DIALECT: a posted change triggers a build
// of the simulated master.
type changeHooks struct {
	on       bool
	secret   string
	authFile string
}

func (c *changeHooks) Flags(fs *flag.FlagSet) {
	fs.BoolVar(&c.on, "hooks", true, "serve /change_hook/{base,github,gitlab,bitbucket} (needs -addr)")
	fs.StringVar(&c.secret, "hooks-secret", "", "GitHub/Bitbucket webhook secret and GitLab token (empty: unsigned payloads accepted)")
	fs.StringVar(&c.authFile, "hooks-auth", "", "user:password file (Buildbot change_hook_auth) required for /change_hook/ (empty: no authentication)")
}

func (c *changeHooks) Start(ctx context.Context, d *demo) error {
	if !c.on || d.url == "" {
		return nil
	}
	secret := status.Secret(c.secret)
	o := hooks.Options{
		OnChanges: d.onChanges,
		Dialects: []hooks.Dialect{
			hooks.Base{},
			&hooks.GitHub{Secret: secret, Strict: !secret.IsZero()},
			&hooks.GitLab{Secret: secret},
			&hooks.Bitbucket{Secret: secret},
		},
		Logger: d.log,
	}
	if c.authFile != "" {
		users, err := auth.OpenCleartext(c.authFile)
		if err != nil {
			return err
		}
		o.Auth = users
	}
	h, err := hooks.New(o)
	if err != nil {
		return err
	}
	d.handle("/change_hook/", h)
	d.where("change hooks: curl -d author=me -d revision=abc123 -d branch=main %s/change_hook/base", d.url)
	if c.secret == "" {
		d.where("  (no -hooks-secret: GitHub, GitLab and Bitbucket deliveries are accepted unsigned)")
	}
	if c.authFile == "" {
		d.where("  (no -hooks-auth: the base and poller hooks are open to anyone who reaches %s)", d.url)
	}
	return nil
}
