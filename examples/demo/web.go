package main

import (
	"context"
	"flag"

	"github.com/heraldci/herald/auth"
	"github.com/heraldci/herald/status"
	"github.com/heraldci/herald/web"
)

// webStatus serves Herald's WebStatus on the demo's HTTP address, with one
// demo user who may force, stop and cancel builds.
type webStatus struct {
	on             bool
	user, password string
	httpLog        string
}

func (w *webStatus) Flags(fs *flag.FlagSet) {
	fs.BoolVar(&w.on, "web", true, "serve the web status on -addr")
	fs.StringVar(&w.user, "web-user", "demo", "web status user allowed to force and stop builds")
	fs.StringVar(&w.password, "web-password", "demo", "password of -web-user")
	fs.StringVar(&w.httpLog, "web-httplog", "", "write the web request log to this file (rotated at 1 MB)")
}

func (w *webStatus) Start(ctx context.Context, d *demo) error {
	if !w.on || d.url == "" {
		return nil
	}
	o := web.Options{
		Title:   "Herald demo",
		BaseURL: d.url + "/",
		History: d.store,
		Control: d.control,
		Logger:  d.log,
		Authz: web.Authz{
			Auth: auth.Users(map[string]status.Secret{w.user: status.Secret(w.password)}),
			Rules: map[web.Action]web.Rule{
				web.ForceBuild: web.Authenticated, web.ForceAllBuilds: web.Authenticated,
				web.StopBuild: web.Authenticated, web.StopAllBuilds: web.Authenticated,
				web.PingBuilder: web.Always, web.CancelPendingBuild: web.Authenticated,
				web.StopChange: web.Authenticated, web.PauseSlave: web.Authenticated,
				web.ShowUsersPage: web.Authenticated,
			},
		},
	}
	if w.httpLog != "" {
		o.HTTPLog = &web.HTTPLog{Path: w.httpLog}
	}
	s, err := web.New(o)
	if err != nil {
		return err
	}
	// The server reads the store; on the hub it gets the events that live
	// views use.
	d.hub.Add(s, status.WithName("web"))
	d.handle("/", s)
	d.onClose(s.Close)
	d.where("web status: %s/ (log in as %s with -web-password, default \"demo\", to force and stop builds)", d.url, w.user)
	return nil
}
